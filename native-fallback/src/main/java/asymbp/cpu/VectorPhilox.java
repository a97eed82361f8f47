package asymbp.cpu;

import asymbp.rng.Philox;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Philox-4x32-10 for eight consecutive element indices at a time, under the project's counter layout
 * ({@link Philox}). Each 32-bit word lives zero-extended in a 64-bit lane, so one 64-bit lane multiply
 * yields the whole 32×32→64 product: hi = p &gt;&gt;&gt; 32, lo = p &amp; 0xffffffff. Bit-exact with
 * {@link Philox#philox4x32_10}. Loaded only when jdk.incubator.vector is present.
 *
 * <p>The words go to int arrays rather than being returned as vectors: a vector crossing a call the JIT
 * does not inline is boxed, and the ten rounds are too large to inline everywhere.
 */
final class VectorPhilox {
    private VectorPhilox() {}

    private static final VectorSpecies<Long> L = LongVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_256;
    static final int LANES = 8;

    private static final long MASK = 0xffffffffL;
    private static final long M0 = 0xD2511F53L, M1 = 0xCD9E8D57L;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;
    private static final long[] IOTA = {0, 1, 2, 3, 4, 5, 6, 7};

    /**
     * For j &lt; n: the block of index0 + j; word k goes to wk[j]. w1, w2, w3 may be null together
     * (only word 0 wanted).
     */
    static void words(long seed, int purpose, int layer, int step, long index0, int n,
                      int[] w0, int[] w1, int[] w2, int[] w3) {
        long c2Init = (((long) purpose << 24) | (layer & 0xffffff)) & MASK, c3Init = step & MASK;
        int key0 = (int) seed, key1 = (int) (seed >>> 32);
        LongVector iota = LongVector.fromArray(L, IOTA, 0);
        int full = n - n % LANES;
        for (int j = 0; j < full; j += LANES) {
            LongVector index = iota.add(index0 + j);
            LongVector c0 = index.and(MASK);
            LongVector c1 = index.lanewise(VectorOperators.LSHR, 32);
            LongVector c2 = LongVector.broadcast(L, c2Init);
            LongVector c3 = LongVector.broadcast(L, c3Init);
            int k0 = key0, k1 = key1;
            for (int r = 0; r < 10; r++) {
                if (r > 0) { k0 += W0; k1 += W1; }
                LongVector p0 = c0.mul(M0);
                LongVector p1 = c2.mul(M1);
                c0 = p1.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c1.lanewise(VectorOperators.XOR, k0 & MASK));
                c1 = p1.and(MASK);
                c2 = p0.lanewise(VectorOperators.LSHR, 32).lanewise(VectorOperators.XOR, c3.lanewise(VectorOperators.XOR, k1 & MASK));
                c3 = p0.and(MASK);
            }
            c0.convertShape(VectorOperators.L2I, I, 0).reinterpretAsInts().intoArray(w0, j);
            if (w1 != null) {
                c1.convertShape(VectorOperators.L2I, I, 0).reinterpretAsInts().intoArray(w1, j);
                c2.convertShape(VectorOperators.L2I, I, 0).reinterpretAsInts().intoArray(w2, j);
                c3.convertShape(VectorOperators.L2I, I, 0).reinterpretAsInts().intoArray(w3, j);
            }
        }
        int[] block = new int[4];
        for (int j = full; j < n; j++) {
            Philox.block(seed, purpose, layer, step, index0 + j, block);
            w0[j] = block[0];
            if (w1 != null) { w1[j] = block[1]; w2[j] = block[2]; w3[j] = block[3]; }
        }
    }
}
