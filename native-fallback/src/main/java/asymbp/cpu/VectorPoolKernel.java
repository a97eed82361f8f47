package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link PoolKernel} for 2×2 windows, sixteen outputs at a time: two contiguous loads per input row,
 * split into the windows' left (even) and right (odd) columns by lane shuffles. Each lane then runs the definition's
 * scan (replace where strictly greater), so NaN and ±0 come out exactly as in the scalar code.
 *
 * <p>A row's last group may run past its end, into the next row's outputs, which that row then
 * overwrites; the last row of a range does its partial group in scalar, so no write crosses into
 * another thread's range. Rows need not be exactly 2·ow inputs wide: an odd last column is never read
 * by a window, and the row stride is w.
 */
final class VectorPoolKernel extends PoolKernel {
    // 512-bit species only: a second vector shape in the same JVM makes C2 stop intrinsifying the GEMM's
    // vectors (the whole LeNet step was 2.3× slower with a 256-bit version of this kernel).
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final int N = 16;
    private static final int[] EVEN = {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30};
    /** Lane i &lt; 8 takes lane 2i (+1 for the odd ones); lane i &ge; 8 takes lane 2(i−8) (+1) of the second vector. */
    private static final VectorShuffle<Float> EVEN_LO = shuffle(0, 0), ODD_LO = shuffle(1, 0),
            EVEN_HI = shuffle(0, 8), ODD_HI = shuffle(1, 8);
    private static final VectorMask<Float> HIGH = VectorMask.fromLong(F, 0xff00L);

    private static VectorShuffle<Float> shuffle(int odd, int from) {
        int[] idx = new int[N];
        for (int i = 0; i < N; i++) idx[i] = (i >= from && i < from + 8) ? 2 * (i - from) + odd : 0;
        return VectorShuffle.fromArray(F, idx, 0);
    }

    /** About 6× the scalar speed where the vector path applies. */
    @Override
    int inputsPerWork(int k, int w) { return k == 2 && w >= N ? 6 : 1; }

    /**
     * Whether outputs [o0, o1) take the vector path: 2×2 windows tiling whole planes (h = 2·oh, so output
     * row r reads input rows 2r and 2r+1 across planes), whole output rows, and rows at least N wide so
     * that a group running past its row reads at most into the next row pair; not empty, since the last
     * row's scalar part is found from o1.
     */
    static boolean vectorRows(int h, int w, int k, int oh, int ow, int o0, int o1) {
        return k == 2 && h == 2 * oh && w >= N && o0 < o1 && o0 % ow == 0 && o1 % ow == 0;
    }

    @Override
    void forward(float[] ys, int yo, int[] am, int ao, float[] xs, int xo, int h, int w, int k, int oh, int ow,
                 int o0, int o1) {
        if (!vectorRows(h, w, k, oh, ow, o0, o1)) {
            super.forward(ys, yo, am, ao, xs, xo, h, w, k, oh, ow, o0, o1);
            return;
        }
        IntVector even = IntVector.fromArray(I, EVEN, 0);
        int rows1 = o1 / ow;
        for (int row = o0 / ow; row < rows1; row++) {
            int top = 2 * w * row, out = row * ow;
            // the last row stops at its last whole group, so no write leaves [o0, o1); the scalar code ends it below
            int end = row == rows1 - 1 ? ow - ow % N : ow;
            for (int ox = 0; ox < end; ox += N) {
                int first = top + 2 * ox;
                FloatVector r0a = FloatVector.fromArray(F, xs, xo + first), r0b = FloatVector.fromArray(F, xs, xo + first + N);
                FloatVector r1a = FloatVector.fromArray(F, xs, xo + first + w), r1b = FloatVector.fromArray(F, xs, xo + first + w + N);
                FloatVector a = r0a.rearrange(EVEN_LO).blend(r0b.rearrange(EVEN_HI), HIGH);
                FloatVector b = r0a.rearrange(ODD_LO).blend(r0b.rearrange(ODD_HI), HIGH);
                FloatVector c = r1a.rearrange(EVEN_LO).blend(r1b.rearrange(EVEN_HI), HIGH);
                FloatVector d = r1a.rearrange(ODD_LO).blend(r1b.rearrange(ODD_HI), HIGH);
                FloatVector max = a;
                IntVector at = IntVector.zero(I);
                VectorMask<Float> gt = b.compare(VectorOperators.GT, max);
                max = max.blend(b, gt);
                at = at.blend(1, gt.cast(I));
                gt = c.compare(VectorOperators.GT, max);
                max = max.blend(c, gt);
                at = at.blend(w, gt.cast(I));
                gt = d.compare(VectorOperators.GT, max);
                max = max.blend(d, gt);
                at = at.blend(w + 1, gt.cast(I));
                max.intoArray(ys, yo + out + ox);
                even.add(first).add(at).intoArray(am, ao + out + ox);
            }
        }
        super.forward(ys, yo, am, ao, xs, xo, h, w, k, oh, ow, o1 - ow % N, o1);
    }
}
