package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.rng.Philox;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The vector Philox on long runs and anywhere in the 64-bit index space: runs that start just below a
 * multiple of 2^32 (the vector code splits there), high index bits set, the wrap past Long.MAX_VALUE,
 * and rows as long as the GEMM asks for. The seed is printed (CpuTestSupport.random).
 */
class PhiloxVectorRandomizedTest {

    /** A start index: near 0, near a multiple of 2^32 (any high word), or anywhere. */
    private static long start(SplittableRandom r) {
        switch (r.nextInt(5)) {
            case 0: return r.nextInt(1000);
            case 1: return ((long) r.nextInt() << 32) - r.nextInt(40);
            case 2: return Long.MAX_VALUE - r.nextInt(2000);
            case 3: return r.nextLong() >>> r.nextInt(64);
            default: return r.nextLong();
        }
    }

    @Test
    void wordsMatchScalarBlocksOnLongRuns() {
        SplittableRandom r = CpuTestSupport.random("PhiloxVectorRandomizedTest.words");
        int[] block = new int[4];
        long checked = 0;
        for (int trial = 0; trial < 400; trial++) {
            long seed = r.nextLong();
            int purpose = r.nextInt(256), layer = r.nextInt(1 << 24), step = r.nextInt();
            long index0 = start(r);
            int n = r.nextInt(1100);
            boolean all = r.nextBoolean();
            // The engine's generator, and the bench's candidate (VectorPhiloxFolded) on alternate trials.
            boolean folded = trial % 2 == 1;
            int[][] w = new int[4][n + 3];
            for (int[] a : w) java.util.Arrays.fill(a, 0xDEADBEEF);
            if (folded) {
                if (all) VectorPhiloxFolded.words(seed, purpose, layer, step, index0, n, w[0], w[1], w[2], w[3]);
                else VectorPhiloxFolded.words(seed, purpose, layer, step, index0, n, w[0], null, null, null);
            } else {
                if (all) VectorPhilox.words(seed, purpose, layer, step, index0, n, w[0], w[1], w[2], w[3]);
                else VectorPhilox.words(seed, purpose, layer, step, index0, n, w[0], null, null, null);
            }
            for (int j = 0; j < n; j++) {
                Philox.block(seed, purpose, layer, step, index0 + j, block);
                for (int k = 0; k < (all ? 4 : 1); k++) {
                    if (block[k] != w[k][j])
                        assertEquals(block[k], w[k][j], (folded ? "folded " : "") + "word " + k + ", trial " + trial + ", index " + (index0 + j)
                                + " (index0 " + index0 + ", n " + n + ")");
                }
                checked++;
            }
            for (int k = 0; k < 4; k++)
                for (int j = n; j < n + 3; j++) assertEquals(0xDEADBEEF, w[k][j], "written past n, word " + k);
        }
        System.out.println("vector Philox, long runs: " + checked + " blocks bit-exact");
    }

    @Test
    void vectorRowsMatchFeedbackVEverywhere() {
        SplittableRandom r = CpuTestSupport.random("PhiloxVectorRandomizedTest.rows");
        FeedbackRow vector = Kernels.best().feedback.get();
        assertTrue(vector instanceof VectorFeedbackRow, "expected the vector generator, got " + vector.describe());
        long checked = 0;
        for (FeedbackMode mode : FeedbackMode.kernelModes())
            for (boolean halfNormal : new boolean[] {false, true})
                for (int trial = 0; trial < 12; trial++) {
                    Feedback fb = new Feedback(mode, 0.25f + (float) r.nextDouble(), (float) r.nextDouble(),
                            0.05f + (float) r.nextDouble(), halfNormal, r.nextLong(), r.nextInt(1 << 24), r.nextInt(),
                            r.nextBoolean());
                    long index0 = start(r);
                    int n = 1 + r.nextInt(1100), wOff = r.nextInt(7), dstOff = r.nextInt(7);
                    float[] w = CpuTestSupport.uniform(r, wOff + n, -2, 2);
                    if (n > 4) { w[wOff] = 0f; w[wOff + 1] = -0f; w[wOff + 2] = Float.NaN; }
                    float[] dst = new float[dstOff + n + 1];
                    dst[dstOff + n] = 777f;
                    vector.fill(fb, w, wOff, index0, n, dst, dstOff);
                    assertEquals(777f, dst[dstOff + n], "written past n");
                    for (int j = 0; j < n; j++) {
                        float want = fb.v(w[wOff + j], index0 + j), got = dst[dstOff + j];
                        if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got))
                            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got), mode + " halfNormal "
                                    + halfNormal + " index " + (index0 + j) + " (index0 " + index0 + ", n " + n + "): " + got + " vs " + want);
                        checked++;
                    }
                }
        System.out.println("vector feedback rows, long runs: " + checked + " values bit-exact");
    }
}
