package asymbp.cpu;

import asymbp.rng.Philox;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorSpecies;

import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;
import static jdk.incubator.vector.VectorOperators.XOR;

/**
 * A candidate replacement for {@link VectorPhilox}, kept here for {@code PhiloxBench} and not used by the
 * engine: 1.4–1.5× the elements per second of VectorPhilox in PhiloxBench, but inside the training step
 * (TrainStepBench, mlp brsf) about half the JVM runs compiled it into code ~30× slower (C2 left part of
 * the large method's Vector API calls un-intrinsified), making the whole step ~3.5× slower. See
 * bench/results/cpu-philox-2026-11-27.md.
 *
 * <p>Philox-4x32-10 for sixteen consecutive element indices at a time, under the project's counter layout
 * ({@link Philox}). Bit-exact with {@link Philox#philox4x32_10}. Loaded only when jdk.incubator.vector is
 * present.
 *
 * <p>Each 32-bit word lives zero-extended in a 64-bit lane, so one 64-bit lane multiply gives the whole
 * 32×32→64 product (hi = p &gt;&gt;&gt; 32, lo = p &amp; 0xffffffff). Splitting the words into 16-bit halves
 * to use 32-bit lanes needs about three times the operations and measured 2–4× slower on JDK 17.
 *
 * <p>What makes this faster than one block per eight lanes in a loop of rounds:
 * <ul>
 *   <li>Within a run whose indices share the high word (split at multiples of 2^32), counter words 1–3
 *       are the same for every element. Round 0's product of word 2 and round 1's product of word 0 are
 *       then scalars, so two of the twenty vector multiplies go; a caller wanting only word 0 also skips
 *       the last round's other product.
 *   <li>Two groups of eight lanes at once (even and odd elements) for independent work in flight; a | b
 *       &lt;&lt; 32 read as ints then gives sixteen words in element order, without a narrowing convert.
 *   <li>The rounds are written out: C2 does not unroll a loop this large, and the loop form measured
 *       slower and less steady.
 * </ul>
 *
 * <p>The words go to int arrays rather than being returned as vectors: a vector crossing a call the JIT
 * does not inline is boxed, and the ten rounds are too large to inline everywhere.
 */
final class VectorPhiloxFolded {
    private VectorPhiloxFolded() {}

    private static final VectorSpecies<Long> L = LongVector.SPECIES_512;
    static final int LANES = 16;

    private static final long MASK = 0xffffffffL;
    private static final long M0 = 0xD2511F53L, M1 = 0xCD9E8D57L;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private static final long[] EVEN = {0, 2, 4, 6, 8, 10, 12, 14}, ODD = {1, 3, 5, 7, 9, 11, 13, 15};

    /**
     * For j &lt; n: the block of index0 + j; word k goes to wk[j]. w1, w2, w3 may be null together
     * (only word 0 wanted).
     */
    static void words(long seed, int purpose, int layer, int step, long index0, int n,
                      int[] w0, int[] w1, int[] w2, int[] w3) {
        long c2 = (((long) purpose << 24) | (layer & 0xffffff)) & MASK, c3 = step & MASK;
        int[] block = null;
        for (int off = 0; off < n; ) {
            long index = index0 + off;
            // Up to the next multiple of 2^32 every element has the same counter word 1.
            int seg = (int) Math.min(n - off, (1L << 32) - (index & MASK));
            int full = seg - seg % LANES;
            if (full > 0) run(seed, c2, c3, index, full, off, w0, w1, w2, w3);
            for (int j = full; j < seg; j++) {
                if (block == null) block = new int[4];
                Philox.block(seed, purpose, layer, step, index + j, block);
                w0[off + j] = block[0];
                if (w1 != null) { w1[off + j] = block[1]; w2[off + j] = block[2]; w3[off + j] = block[3]; }
            }
            off += seg;
        }
    }

    /** n a multiple of 16, index0 .. index0 + n − 1 with one high word; writes from w[off]. */
    private static void run(long seed, long c2, long c3, long index0, int n, int off,
                            int[] w0, int[] w1, int[] w2, int[] w3) {
        // Round keys, zero-extended: k0r[r], k1r[r].
        long[] k0r = new long[10], k1r = new long[10];
        for (int r = 0, k0 = (int) seed, k1 = (int) (seed >>> 32); r < 10; r++, k0 += W0, k1 += W1) {
            k0r[r] = k0 & MASK;
            k1r[r] = k1 & MASK;
        }
        // Round 0 on the words shared by all elements: c0 = hi(M1·c2) ^ c1 ^ k0 and c1 = lo(M1·c2) are
        // scalars; round 1's product M0·c0 is then a scalar too, and c3 after round 1 is its low half.
        long q = M1 * c2;
        long s0 = ((q >>> 32) ^ (index0 >>> 32) ^ k0r[0]) & MASK, s1 = q & MASK;
        long t = M0 * s0;
        long x20 = c3 ^ k1r[0], x01 = s1 ^ k0r[1], x21 = (t >>> 32) ^ k1r[1];
        LongVector s3 = LongVector.broadcast(L, t & MASK);
        LongVector even = LongVector.fromArray(L, EVEN, 0), odd = LongVector.fromArray(L, ODD, 0);
        for (int j = 0; j < n; j += LANES) {
            long lo = (index0 + j) & MASK;   // no carry into the high word: run() never straddles 2^32
            // a: elements j, j+2, …; b: elements j+1, j+3, …  Words named a0..a3, b0..b3.
            LongVector pa = even.add(lo).mul(M0), pb = odd.add(lo).mul(M0);
            // round 0 (vector half): c2 = hi(M0·c0) ^ c3 ^ k0, c3 = lo(M0·c0)
            LongVector a2 = pa.lanewise(LSHR, 32).lanewise(XOR, x20), b2 = pb.lanewise(LSHR, 32).lanewise(XOR, x20);
            LongVector a3 = pa.and(MASK), b3 = pb.and(MASK);
            // round 1: c0 = hi(M1·c2) ^ c1 ^ k0, c1 = lo(M1·c2); c2 = hi(M0·c0) ^ c3 ^ k1 with M0·c0 the scalar t
            pa = a2.mul(M1); pb = b2.mul(M1);
            LongVector a0 = pa.lanewise(LSHR, 32).lanewise(XOR, x01), b0 = pb.lanewise(LSHR, 32).lanewise(XOR, x01);
            LongVector a1 = pa.and(MASK), b1 = pb.and(MASK);
            a2 = a3.lanewise(XOR, x21); b2 = b3.lanewise(XOR, x21);
            a3 = s3; b3 = s3;
            // Rounds 2-8 written out, with the Vector API calls in place: C2 does not unroll a loop this
            // large, and helper methods for the round hit its inlining node cutoff (the vectors are then boxed).
            LongVector qa, qb;
            pa = a0.mul(M0); pb = b0.mul(M0); qa = a2.mul(M1); qb = b2.mul(M1);                  // round 2
            a0 = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[2]);
            b0 = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[2]);
            a2 = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[2]);
            b2 = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[2]);
            a1 = qa.and(MASK); b1 = qb.and(MASK); a3 = pa.and(MASK); b3 = pb.and(MASK);

            pa = a0.mul(M0); pb = b0.mul(M0); qa = a2.mul(M1); qb = b2.mul(M1);                  // round 3
            a0 = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[3]);
            b0 = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[3]);
            a2 = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[3]);
            b2 = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[3]);
            a1 = qa.and(MASK); b1 = qb.and(MASK); a3 = pa.and(MASK); b3 = pb.and(MASK);

            pa = a0.mul(M0); pb = b0.mul(M0); qa = a2.mul(M1); qb = b2.mul(M1);                  // round 4
            a0 = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[4]);
            b0 = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[4]);
            a2 = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[4]);
            b2 = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[4]);
            a1 = qa.and(MASK); b1 = qb.and(MASK); a3 = pa.and(MASK); b3 = pb.and(MASK);

            pa = a0.mul(M0); pb = b0.mul(M0); qa = a2.mul(M1); qb = b2.mul(M1);                  // round 5
            a0 = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[5]);
            b0 = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[5]);
            a2 = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[5]);
            b2 = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[5]);
            a1 = qa.and(MASK); b1 = qb.and(MASK); a3 = pa.and(MASK); b3 = pb.and(MASK);

            pa = a0.mul(M0); pb = b0.mul(M0); qa = a2.mul(M1); qb = b2.mul(M1);                  // round 6
            a0 = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[6]);
            b0 = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[6]);
            a2 = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[6]);
            b2 = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[6]);
            a1 = qa.and(MASK); b1 = qb.and(MASK); a3 = pa.and(MASK); b3 = pb.and(MASK);

            pa = a0.mul(M0); pb = b0.mul(M0); qa = a2.mul(M1); qb = b2.mul(M1);                  // round 7
            a0 = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[7]);
            b0 = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[7]);
            a2 = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[7]);
            b2 = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[7]);
            a1 = qa.and(MASK); b1 = qb.and(MASK); a3 = pa.and(MASK); b3 = pb.and(MASK);

            pa = a0.mul(M0); pb = b0.mul(M0); qa = a2.mul(M1); qb = b2.mul(M1);                  // round 8
            a0 = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[8]);
            b0 = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[8]);
            a2 = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[8]);
            b2 = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[8]);
            a1 = qa.and(MASK); b1 = qb.and(MASK); a3 = pa.and(MASK); b3 = pb.and(MASK);

            // round 9: word 0 needs only M1·c2
            qa = a2.mul(M1); qb = b2.mul(M1);
            LongVector u = qa.lanewise(LSHR, 32).lanewise(XOR, a1).lanewise(XOR, k0r[9]);
            LongVector v = qb.lanewise(LSHR, 32).lanewise(XOR, b1).lanewise(XOR, k0r[9]);
            // u ^ v << 32 read as ints: even and odd elements interleaved, i.e. sixteen words in order
            u.lanewise(XOR, v.lanewise(LSHL, 32)).reinterpretAsInts().intoArray(w0, off + j);
            if (w1 != null) {
                pa = a0.mul(M0); pb = b0.mul(M0);
                qa.and(MASK).lanewise(XOR, qb.lanewise(LSHL, 32)).reinterpretAsInts().intoArray(w1, off + j);
                u = pa.lanewise(LSHR, 32).lanewise(XOR, a3).lanewise(XOR, k1r[9]);
                v = pb.lanewise(LSHR, 32).lanewise(XOR, b3).lanewise(XOR, k1r[9]);
                u.lanewise(XOR, v.lanewise(LSHL, 32)).reinterpretAsInts().intoArray(w2, off + j);
                pa.and(MASK).lanewise(XOR, pb.lanewise(LSHL, 32)).reinterpretAsInts().intoArray(w3, off + j);
            }
        }
    }
}
