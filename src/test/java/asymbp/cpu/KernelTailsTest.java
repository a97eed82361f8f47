package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The CPU kernels' primitives called directly, scalar and vector, on the lengths that reach their
 * tails (≡ 1, 2, 3 mod 4 and mod 16) with NaN just outside every segment: a loop that reads one element
 * too far, or stops one short, turns the result NaN or wrong. Max-pooling over ranges that start
 * inside a plane (as the parallel chunks do) must find the same windows as one call over everything.
 */
class KernelTailsTest {

    private static Kernels[] kernelSets() {
        return new Kernels[] {Kernels.scalar("test"), Kernels.best()};
    }

    private static final int[] LENGTHS = {1, 2, 3, 4, 5, 6, 7, 13, 14, 15, 16, 17, 18, 19, 31, 33, 34, 35};

    @Test
    void dotProductsStopAtTheirRowEnds() {
        SplittableRandom r = CpuTestSupport.random("KernelTailsTest.dot");
        for (Kernels ks : kernelSets())
            for (int k : LENGTHS)
                for (int[] mn : new int[][] {{1, 1}, {2, 4}, {3, 5}, {5, 7}}) {
                    int m = mn[0], n = mn[1], lda = k + 3, ldb = k + 5, ldc = n + 2;
                    float[] a = new float[2 + m * lda], b = new float[1 + n * ldb];
                    Arrays.fill(a, Float.NaN);
                    Arrays.fill(b, Float.NaN);
                    for (int i = 0; i < m; i++) for (int q = 0; q < k; q++) a[2 + i * lda + q] = (float) (r.nextDouble() * 2 - 1);
                    for (int j = 0; j < n; j++) for (int q = 0; q < k; q++) b[1 + j * ldb + q] = (float) (r.nextDouble() * 2 - 1);
                    float[] c = new float[3 + m * ldc];
                    for (int i = 0; i < c.length; i++) c[i] = (float) r.nextDouble();
                    float[] before = c.clone();
                    ks.dot.abt(m, n, k, a, 2, lda, b, 1, ldb, c, 3, ldc);
                    for (int i = 0; i < m; i++)
                        for (int j = 0; j < n; j++) {
                            double s = 0, mag = 0;
                            for (int q = 0; q < k; q++) {
                                s += (double) a[2 + i * lda + q] * b[1 + j * ldb + q];
                                mag += Math.abs((double) a[2 + i * lda + q] * b[1 + j * ldb + q]);
                            }
                            int at = 3 + i * ldc + j;
                            assertEquals(before[at] + s, c[at], 1e-5 * (1 + mag), ks.description + " m=" + m + " n=" + n + " k=" + k + " c[" + i + "][" + j + "]");
                            before[at] = c[at];
                        }
                    assertEquals(Arrays.toString(before), Arrays.toString(c), ks.description + ": nothing outside C's m×n written");
                }
    }

    /** a segment of len random values at from, NaN on both sides. */
    private static float[] segment(SplittableRandom r, int from, int len) {
        float[] a = new float[from + len + 17];
        Arrays.fill(a, Float.NaN);
        for (int q = 0; q < len; q++) a[from + q] = (float) (r.nextDouble() * 4 - 1);
        return a;
    }

    @Test
    void batchnormSegmentSumsStopAtTheirEnds() {
        SplittableRandom r = CpuTestSupport.random("KernelTailsTest.batchnorm");
        for (Kernels ks : kernelSets())
            for (int len : LENGTHS) {
                int from = 1 + r.nextInt(5);
                float[] x = segment(r, from, len), dy = segment(r, from, len), y = segment(r, from, len);
                double sum = 0, mag = 0;
                for (int q = 0; q < len; q++) { sum += x[from + q]; mag += Math.abs(x[from + q]); }
                String what = ks.description + " len=" + len;
                assertEquals(sum, ks.batchNorm.sum(x, from, len), 1e-5 * (1 + mag), "sum " + what);
                float mu = (float) (sum / len), inv = 1.3f;
                double dev = 0;
                for (int q = 0; q < len; q++) dev += (x[from + q] - mu) * (double) (x[from + q] - mu);
                assertEquals(dev, ks.batchNorm.sumSquaredDeviation(x, from, len, mu), 1e-5 * (1 + dev), "Σ(x−mean)² " + what);
                for (boolean fused : new boolean[] {false, true}) {
                    float[] out = new float[2];
                    ks.batchNorm.segmentSums(dy, from, fused ? y : null, from, x, from, len, mu, inv, out);
                    double sg = 0, sgx = 0, m2 = 0;
                    for (int q = 0; q < len; q++) {
                        double g = !fused || y[from + q] > 0 ? dy[from + q] : 0;
                        sg += g;
                        sgx += g * (x[from + q] - mu) * inv;
                        m2 += Math.abs(g) * (1 + Math.abs((x[from + q] - mu) * inv));
                    }
                    assertEquals(sg, out[0], 1e-5 * (1 + m2), "Σ g " + what + " fused=" + fused);
                    assertEquals(sgx, out[1], 1e-5 * (1 + m2), "Σ g·xhat " + what + " fused=" + fused);
                    float[] dx = new float[x.length];
                    Arrays.fill(dx, -9f);
                    float kc = 0.37f, n = len, sgF = (float) sg, sgxF = (float) sgx;
                    ks.batchNorm.segmentInputGradient(dx, from, dy, from, fused ? y : null, from, x, from, len, mu, inv, kc, n, sgF, sgxF);
                    for (int q = 0; q < dx.length; q++) {
                        if (q < from || q >= from + len) { assertEquals(-9f, dx[q], "dx outside the segment, " + what); continue; }
                        double g = !fused || y[q] > 0 ? dy[q] : 0;
                        double want = kc * (n * g - sgF - (x[q] - mu) * inv * sgxF);
                        assertEquals(want, dx[q], 1e-5 * (1 + Math.abs(n * g) + Math.abs(sgF) + Math.abs(sgxF) * 4), "dx[" + q + "] " + what);
                    }
                }
            }
    }

    /**
     * One row of a linear layer's batch norm (spatial = 1) over channels [c0, c1) with c0 not 0 and a
     * ragged end, as a parallel chunk sees it: sums and dx inside the range, nothing written outside.
     */
    @Test
    void batchnormRowsOverAChannelRangeOfAChunk() {
        SplittableRandom r = CpuTestSupport.random("KernelTailsTest.batchnormRows");
        int channels = 70;
        for (Kernels ks : kernelSets())
            for (int[] range : new int[][] {{16, 37}, {16, 32}, {3, 70}, {48, 50}, {0, 70}}) {
                int c0 = range[0], c1 = range[1];
                float[] dy = CpuTestSupport.uniform(r, channels, -1, 1), y = CpuTestSupport.uniform(r, channels, -1, 1);
                float[] x = CpuTestSupport.uniform(r, channels, -1, 1), mean = CpuTestSupport.uniform(r, channels, -0.5, 0.5);
                float[] inv = CpuTestSupport.uniform(r, channels, 0.5, 2), k = CpuTestSupport.uniform(r, channels, 0.1, 1);
                for (int c = 0; c < channels; c++)
                    if (c < c0 || c >= c1) { dy[c] = Float.NaN; x[c] = Float.NaN; y[c] = Float.NaN; }
                float[] sumG = new float[channels], sumGX = new float[channels];
                Arrays.fill(sumG, 0.5f);
                Arrays.fill(sumGX, -0.5f);
                ks.batchNorm.rowSums(dy, 0, y, 0, x, 0, c0, c1, mean, inv, sumG, sumGX);
                float[] dx = new float[channels];
                Arrays.fill(dx, 7f);
                ks.batchNorm.rowInputGradient(dx, 0, dy, 0, null, 0, x, 0, c0, c1, mean, inv, k, 5f, sumG, sumGX);
                String what = ks.description + " channels [" + c0 + ", " + c1 + ")";
                for (int c = 0; c < channels; c++) {
                    boolean in = c >= c0 && c < c1;
                    double g = in && y[c] > 0 ? dy[c] : 0, xhat = in ? (x[c] - mean[c]) * inv[c] : 0;
                    assertEquals(in ? 0.5 + g : 0.5, sumG[c], 1e-6, "sumG[" + c + "] " + what);
                    assertEquals(in ? -0.5 + g * xhat : -0.5, sumGX[c], 1e-5, "sumGXhat[" + c + "] " + what);
                    double want = in ? k[c] * (5.0 * dy[c] - sumG[c] - xhat * sumGX[c]) : 7;
                    assertEquals(want, dx[c], 1e-5 * (1 + Math.abs(want)), "dx[" + c + "] " + what);
                }
            }
    }

    /** Batch norm's moments (spatial = 1) over a chunk's channels: the neighbours' entries are left alone. */
    @Test
    void batchnormMomentsStayInsideTheChunk() {
        SplittableRandom r = CpuTestSupport.random("KernelTailsTest.moments");
        int batch = 5, channels = 40, c0 = 16, c1 = 32;
        float[] x = CpuTestSupport.uniform(r, batch * channels, -1, 2);
        for (Kernels ks : kernelSets()) {
            float[] mean = new float[channels], dev2 = new float[channels];
            Arrays.fill(mean, 3f);
            Arrays.fill(dev2, 4f);
            ks.batchNorm.moments(x, 0, batch, channels, 1, c0, c1, mean, dev2);
            for (int c = 0; c < channels; c++) {
                boolean in = c >= c0 && c < c1;
                double m = 0, d = 0;
                for (int b = 0; b < batch; b++) m += x[b * channels + c];
                m /= batch;
                for (int b = 0; b < batch; b++) d += (x[b * channels + c] - m) * (x[b * channels + c] - m);
                assertEquals(in ? m : 3, mean[c], 1e-6, ks.description + " mean[" + c + "]");
                assertEquals(in ? d : 4, dev2[c], 1e-5, ks.description + " dev2[" + c + "]");
            }
        }
    }

    /** The definition: first maximum in row-major order by strict >. */
    private static int firstMax(float[] x, int first, int w, int k) {
        int best = first;
        for (int dy = 0; dy < k; dy++)
            for (int dx = 0; dx < k; dx++) {
                int at = first + dy * w + dx;
                if (x[at] > x[best]) best = at;
            }
        return best;
    }

    @Test
    void maxpoolRangesStartingInsideAPlane() {
        SplittableRandom r = CpuTestSupport.random("KernelTailsTest.maxpool");
        for (Kernels ks : kernelSets())
            // the 512-bit kernel takes k = 2 on even planes at least 16 wide (several 16-output groups from 40 on);
            // odd planes, narrow rows, k = 3 and ranges that do not start on a row must go to the scalar code
            for (int[] sh : new int[][] {{3, 9, 8, 2}, {4, 7, 9, 3}, {5, 28, 28, 2}, {2, 10, 10, 2}, {3, 6, 7, 3},
                    {3, 8, 40, 2}, {2, 6, 64, 2}, {2, 9, 36, 2}, {2, 8, 34, 2}, {2, 8, 33, 2}, {2, 6, 32, 2}, {2, 6, 18, 3}})
                for (boolean wholeRows : new boolean[] {true, false}) {
                    int planes = sh[0], h = sh[1], w = sh[2], k = sh[3], oh = h / k, ow = w / k, rows = planes * oh;
                    float[] x = new float[3 + planes * h * w + 5];   // the view starts at 3; 9 before it would win any window
                    for (int i = 0; i < x.length; i++) x[i] = i < 3 ? 9f : (float) (r.nextDouble() * 2 - 1);
                    float[] y = new float[rows * ow + 4];
                    int[] am = new int[rows * ow + 4];
                    Arrays.fill(y, Float.NaN);
                    Arrays.fill(am, -1);
                    // whole output rows per call, as CpuBackend cuts them, or any cut, at random points
                    int unit = wholeRows ? ow : 1, units = rows * ow / unit, at = 0;
                    while (at < units) {
                        int next = Math.min(units, at + 1 + r.nextInt(Math.max(1, 2 * oh * ow / unit)));
                        ks.pool.forward(y, 2, am, 3, x, 3, h, w, k, oh, ow, at * unit, next * unit);
                        at = next;
                    }
                    ks.pool.forward(y, 2, am, 3, x, 3, h, w, k, oh, ow, 4, 4);   // an empty range writes nothing
                    String what = ks.description + " " + Arrays.toString(sh) + (wholeRows ? " whole rows" : " any cut");
                    for (int o = 0; o < rows * ow; o++) {
                        int pl = o / (oh * ow), oy = o / ow % oh, ox = o % ow;
                        int best = firstMax(x, 3 + pl * h * w + oy * k * w + ox * k, w, k);
                        assertEquals(best - 3, am[3 + o], "argmax " + o + " (relative to the view) " + what);
                        assertEquals(x[best], y[2 + o], "max " + o + " " + what);
                    }
                    assertTrue(Float.isNaN(y[0]) && Float.isNaN(y[1]) && am[0] == -1 && am[2] == -1, "nothing before the outputs written, " + what);
                }
        PoolKernel vector = Kernels.best().pool;
        if (vector.getClass() != PoolKernel.class) {
            // work per input as the parallel-for sees it: cheaper only where the vector path runs
            assertEquals(6, vector.inputsPerWork(2, 16));
            assertEquals(1, vector.inputsPerWork(2, 15));
            assertEquals(1, vector.inputsPerWork(3, 64));
        }
        assertEquals(1, new PoolKernel().inputsPerWork(2, 64));
    }
}
