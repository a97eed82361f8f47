package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Which kernels run where: the Vector API factory's choice for each CPU class (by its vector widths, so
 * every class is checked on this one machine), and which pooling shapes take the 16-wide path — a
 * shape that silently falls back to the scalar code is correct but 6× slower, which no output test sees.
 * The surefire JVM always has jdk.incubator.vector (pom.xml's argLine).
 */
class VectorChoiceTest {

    @Test
    void theFactoryPicksKernelsByVectorWidth() {
        VectorFactory sse = new VectorFactory(128, 128);
        assertNull(sse.kernel(), "128-bit vectors: no Vector API GEMM");
        assertScalarOthers(sse);
        assertNull(sse.feedback(), "scalar Philox without 512-bit long lanes");

        VectorFactory avx2 = new VectorFactory(256, 256);
        assertSame(VectorKernel256.class, avx2.kernel().getClass());
        assertScalarOthers(avx2);
        assertNull(avx2.feedback());

        VectorFactory avx512 = new VectorFactory(512, 512);
        assertSame(VectorKernel512.class, avx512.kernel().getClass());
        List<Class<?>> vector = List.of(VectorBatchNormKernels.class, VectorPoolKernel.class, VectorUpdateKernel.class, VectorDotKernel.class);
        assertEquals(vector, others(avx512));
        assertSame(VectorFeedbackRow.class, avx512.feedback().get().getClass());

        // the two widths are read apart: wide floats with narrow longs keep the scalar generator, and back
        assertNull(new VectorFactory(512, 256).feedback());
        assertSame(VectorFeedbackRow.class, new VectorFactory(256, 512).feedback().get().getClass());
        assertSame(VectorKernel512.class, new VectorFactory(1024, 1024).kernel().getClass());
    }

    /** The batch-norm, pool, update and dot kernels' classes, in that order. */
    private static List<Class<?>> others(VectorFactory f) {
        return List.of(f.batchNorm().getClass(), f.pool().getClass(), f.update().getClass(), f.dot().getClass());
    }

    private static void assertScalarOthers(VectorFactory f) {
        assertEquals(List.of(BatchNormKernels.class, PoolKernel.class, UpdateKernel.class, DotKernel.class), others(f),
                "only 512-bit vectors get the Vector API batch-norm, pool, update and dot kernels");
    }

    @Test
    void theDefaultFactoryReadsThisCpusWidths() {
        int bits = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize();
        System.out.println("VectorChoiceTest: this CPU's preferred float vector: " + bits + " bits");
        MicroKernel k = new VectorFactory().kernel();
        if (bits >= 512) assertSame(VectorKernel512.class, k.getClass());
        else if (bits >= 256) assertSame(VectorKernel256.class, k.getClass());
        else assertNull(k);
    }

    @Test
    void poolingShapesThatTakeTheVectorPath() {
        // LeNet's pools: 28×28 → 14×14 (vector), 10×10 → 5×5 (rows too narrow)
        assertTrue(VectorPoolKernel.vectorRows(28, 28, 2, 14, 14, 0, 6 * 14 * 14));
        assertFalse(VectorPoolKernel.vectorRows(10, 10, 2, 5, 5, 0, 16 * 25));
        // each condition at its limit, with everything else as in the first case
        assertTrue(VectorPoolKernel.vectorRows(16, 16, 2, 8, 8, 8, 16));
        assertFalse(VectorPoolKernel.vectorRows(15, 15, 2, 7, 7, 7, 14), "rows 15 wide");
        assertFalse(VectorPoolKernel.vectorRows(16, 16, 3, 8, 8, 8, 16), "3×3 windows");
        assertFalse(VectorPoolKernel.vectorRows(16, 16, 1, 8, 8, 8, 16), "1×1 windows");
        assertFalse(VectorPoolKernel.vectorRows(17, 16, 2, 8, 8, 8, 16), "odd height: planes do not pair rows");
        assertFalse(VectorPoolKernel.vectorRows(14, 16, 2, 8, 8, 8, 16), "fewer rows than windows");
        assertTrue(VectorPoolKernel.vectorRows(16, 17, 2, 8, 8, 8, 16), "an odd width: its last column is never read");
        assertTrue(VectorPoolKernel.vectorRows(16, 40, 2, 8, 20, 20, 60), "rows of 20 outputs");
        assertFalse(VectorPoolKernel.vectorRows(16, 16, 2, 8, 8, 9, 16), "a range starting inside a row");
        assertFalse(VectorPoolKernel.vectorRows(16, 16, 2, 8, 8, 8, 15), "a range ending inside a row");
        assertFalse(VectorPoolKernel.vectorRows(16, 16, 2, 8, 8, 8, 8), "an empty range");
        assertFalse(VectorPoolKernel.vectorRows(16, 16, 2, 8, 8, 16, 8), "a reversed range");
        assertTrue(VectorPoolKernel.vectorRows(32, 32, 2, 16, 16, 16, 48), "several rows");
        assertTrue(VectorPoolKernel.vectorRows(36, 36, 2, 18, 18, 18, 36), "o0 = ow and o1 = 2·ow");
        assertFalse(VectorPoolKernel.vectorRows(36, 36, 2, 18, 18, 6, 36), "o0 a divisor of ow, not a multiple");
        assertFalse(VectorPoolKernel.vectorRows(36, 36, 2, 18, 18, 18, 42), "o1 not a multiple of ow");
    }

    /**
     * Outputs and inputs exactly as long as the planes (no slack around them, views at 0): a vector group
     * that writes past the range's end, or a scalar tail started before it, fails here. Every output is
     * poisoned first and compared with the definition; an empty range at a row boundary writes nothing.
     */
    @Test
    void vectorPoolingWritesExactlyItsRange() {
        SplittableRandom r = CpuTestSupport.random("VectorChoiceTest.exact");
        VectorPoolKernel pool = new VectorPoolKernel();
        // ow ≡ 0, 2, 4 and 15 mod 16; one plane and several
        for (int[] sh : new int[][] {{1, 8, 32}, {2, 6, 36}, {1, 4, 40}, {3, 4, 62}, {2, 10, 20}, {1, 2, 64}}) {
            int planes = sh[0], h = sh[1], w = sh[2], oh = h / 2, ow = w / 2, rows = planes * oh, n = rows * ow;
            float[] x = new float[planes * h * w];
            for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 2 - 1);
            float[] y = new float[n];
            int[] am = new int[n];
            Arrays.fill(y, Float.NaN);
            Arrays.fill(am, -1);
            pool.forward(y, 0, am, 0, x, 0, h, w, 2, oh, ow, ow, ow);   // empty
            assertTrue(Arrays.stream(am).allMatch(v -> v == -1), "an empty range wrote, " + Arrays.toString(sh));
            // the first row alone, then the rest: each call's last row ends in the scalar tail
            pool.forward(y, 0, am, 0, x, 0, h, w, 2, oh, ow, 0, ow);
            for (int o = ow; o < n; o++) assertEquals(-1, am[o], "the first row's call wrote output " + o + ", " + Arrays.toString(sh));
            pool.forward(y, 0, am, 0, x, 0, h, w, 2, oh, ow, ow, n);
            float[] wantY = new float[n];
            int[] wantAm = new int[n];
            new PoolKernel().forward(wantY, 0, wantAm, 0, x, 0, h, w, 2, oh, ow, 0, n);
            assertArrayEquals(wantAm, am, "argmax " + Arrays.toString(sh));
            assertArrayEquals(wantY, y, "max " + Arrays.toString(sh));
        }
    }
}
