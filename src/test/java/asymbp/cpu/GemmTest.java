package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** SGEMM (vector and scalar kernels) against a naive triple loop in double, on awkward shapes. */
class GemmTest {

    /** Shapes that are not multiples of MR=8, NR=32, KC=256, MC=128, NC=512. */
    private static final int[][] SHAPES = {
            {1, 1, 1}, {3, 5, 7}, {5, 33, 17}, {37, 65, 300}, {130, 31, 9}, {9, 600, 260}, {131, 97, 513},
    };

    @Test
    void vectorPathIsPresentInTheTestJvm() {
        // The surefire JVM runs with --add-modules jdk.incubator.vector: the fast path must be the one tested.
        assertTrue(Kernels.VECTOR_MODULE, "jdk.incubator.vector missing from the test JVM");
        Kernels k = Kernels.best();
        System.out.println("kernels: " + k.description + ", " + k.feedback.get().describe());
        assertTrue(k.description.startsWith("Vector API"), k.description);
    }

    @Test
    void vectorKernelMatchesNaiveProduct() { check(Kernels.best(), "vector"); }

    @Test
    void scalarKernelMatchesNaiveProduct() { check(Kernels.scalar("test"), "scalar"); }

    /** The AVX2 tile, used where 512-bit vectors are missing; it runs (more slowly) on any CPU. */
    @Test
    void vector256KernelMatchesNaiveProduct() { check(new VectorKernel256(), "vector256"); }

    private void check(Kernels kernels, String label) { check(kernels.kernel, label); }

    private void check(MicroKernel kernel, String label) {
        SplittableRandom r = CpuTestSupport.random("GemmTest." + label);
        Gemm gemm = new Gemm(kernel, FeedbackRow::new);
        Parallel par = new Parallel(2);
        try {
            for (int[] s : SHAPES)
                for (boolean ta : new boolean[] {false, true})
                    for (boolean tb : new boolean[] {false, true})
                        for (boolean acc : new boolean[] {false, true})
                            checkOne(gemm, par, r, s[0], s[1], s[2], ta, tb, acc);
        } finally {
            par.close();
        }
    }

    private void checkOne(Gemm gemm, Parallel par, SplittableRandom r, int m, int n, int k,
                          boolean ta, boolean tb, boolean acc) {
        int aOff = r.nextInt(7), bOff = r.nextInt(7), cOff = r.nextInt(7);
        int ldc = n + r.nextInt(3);
        float[] a = CpuTestSupport.uniform(r, aOff + m * k, -1, 1);
        float[] b = CpuTestSupport.uniform(r, bOff + k * n, -1, 1);
        float[] c = CpuTestSupport.uniform(r, cOff + m * ldc, -1, 1);
        double[] want = new double[m * n], magnitude = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double sum = acc ? c[cOff + i * ldc + j] : 0, mag = Math.abs(sum);
                for (int q = 0; q < k; q++) {
                    float av = ta ? a[aOff + q * m + i] : a[aOff + i * k + q];
                    float bv = tb ? b[bOff + j * k + q] : b[bOff + q * n + j];
                    sum += (double) av * bv;
                    mag += Math.abs((double) av * bv);
                }
                want[i * n + j] = sum;
                magnitude[i * n + j] = mag;
            }
        float[] before = c.clone();
        Gemm.Strided aOp = ta ? Gemm.Strided.transposed(a, aOff, m) : Gemm.Strided.rowMajor(a, aOff, k);
        Gemm.Strided bOp = tb ? Gemm.Strided.transposed(b, bOff, k) : Gemm.Strided.rowMajor(b, bOff, n);
        gemm.multiply(par, m, n, k, aOp, bOp, c, cOff, ldc, acc);
        float[] got = new float[m * n];
        for (int i = 0; i < m; i++) System.arraycopy(c, cOff + i * ldc, got, i * n, n);
        // Error of each element relative to Σ|a·b| (its condition): a float32 sum stays far under 1e-5 there,
        // while any wrong, missing or misplaced term is of order 1e-2 or more.
        double err = 0;
        for (int q = 0; q < want.length; q++)
            err = Math.max(err, Double.isNaN(got[q]) ? Double.POSITIVE_INFINITY : Math.abs(got[q] - want[q]) / magnitude[q]);
        assertTrue(err < 1e-5, String.format("%dx%dx%d ta=%b tb=%b acc=%b: max rel error %.3g", m, n, k, ta, tb, acc, err));
        // Nothing outside C's rows×n window may change.
        for (int q = 0; q < c.length; q++) {
            int row = (q - cOff) / ldc, col = (q - cOff) % ldc;
            boolean inside = q >= cOff && row < m && col < n;
            if (!inside) assertEquals(before[q], c[q], "element " + q + " outside C changed");
        }
    }

    @Test
    void dotKernelsMatchNaiveProduct() {
        SplittableRandom r = CpuTestSupport.random("GemmTest.dot");
        for (DotKernel dot : new DotKernel[] {Kernels.best().dot, Kernels.scalar("test").dot}) {
            for (int[] s : new int[][] {{1, 1, 1}, {2, 4, 16}, {3, 5, 17}, {6, 25, 784}, {7, 9, 100}, {16, 150, 112}}) {
                int m = s[0], n = s[1], k = s[2], lda = k + r.nextInt(3), ldb = k + r.nextInt(3), ldc = n + r.nextInt(3);
                float[] a = CpuTestSupport.uniform(r, m * lda + 2, -1, 1), b = CpuTestSupport.uniform(r, n * ldb + 2, -1, 1);
                float[] c = CpuTestSupport.uniform(r, m * ldc + 2, -1, 1), before = c.clone();
                dot.abt(m, n, k, a, 1, lda, b, 2, ldb, c, 1, ldc);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double want = before[1 + i * ldc + j], mag = Math.abs(want);
                        for (int q = 0; q < k; q++) {
                            double t = (double) a[1 + i * lda + q] * b[2 + j * ldb + q];
                            want += t;
                            mag += Math.abs(t);
                        }
                        double err = Math.abs(c[1 + i * ldc + j] - want) / mag;
                        assertTrue(err < 1e-5, dot.getClass().getSimpleName() + " " + m + "x" + n + "x" + k + " at " + i + "," + j + ": " + err);
                    }
                for (int q = 0; q < c.length; q++) {
                    int i = (q - 1) / ldc, j = (q - 1) % ldc;
                    if (q < 1 || i >= m || j >= n) assertEquals(before[q], c[q], "element " + q + " outside C changed");
                }
            }
        }
    }
}
