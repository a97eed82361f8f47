package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.backend.UpdateRule;
import asymbp.train.ReferenceBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend against the plain-loop {@link ReferenceBackend} with the thread count forced to 1, 2
 * and 8 (it picks branches by thread count: per-image patch matrices when batch ≥ threads, a parallel
 * GEMM per image otherwise; chunked partial sums) and with both kernel sets, on shapes chosen for the
 * edges: stride 2 with padding, odd lengths (≡ 1, 2, 3 mod 4), batch·spatial = 1, work above the serial
 * threshold (so several chunks run), a GEMM column block of exactly NC with a full KC, and scratch that
 * holds NaN from the op before.
 */
class CpuBackendThreadsTest {

    private static final int[] THREADS = {1, 2, 8};

    /** A backend for every forced thread count, scalar and best kernels. */
    private static List<CpuBackend> backends() {
        List<CpuBackend> list = new ArrayList<>();
        for (int t : THREADS) {
            list.add(CpuBackend.scalar(t));
            list.add(new CpuBackend(Kernels.best(), t));
        }
        return list;
    }

    /**
     * Runs op on the CPU backend (inputs in NaN-padded views at random offsets) and on the reference with
     * the same arrays (float[], int[], byte[] or null), then compares every buffer afterwards: outputs
     * within tol of max|reference| (floats), exactly (ints); inputs must be left as they were.
     */
    private static void same(String what, CpuBackend be, SplittableRandom r, double tol, Object[] data,
                             BiConsumer<Backend, Buffer[]> op) {
        ReferenceBackend ref = new ReferenceBackend();
        Buffer[] c = new Buffer[data.length], q = new Buffer[data.length];
        for (int i = 0; i < data.length; i++) {
            if (data[i] == null) continue;
            c[i] = CpuTestSupport.place(be, data[i], r);
            q[i] = CpuTestSupport.place(ref, data[i], null);
        }
        op.accept(be, c);
        op.accept(ref, q);
        CpuTestSupport.assertSameBuffers(what, be, c, ref, q, data, tol);
    }

    private static final Feedback FRSF = new Feedback(FeedbackMode.FRSF, 0.7f, 0.5f, 0f, false, 12345L, 2, 3);

    @Test
    void convolutionOnEveryThreadCountStrideAndPadding() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendThreadsTest.conv");
        ConvShape[] shapes = {
                new ConvShape(3, 3, 16, 15, 8, 3, 3, 2, 1),   // stride 2, padding, batch 3 < 8 threads, above the serial threshold
                new ConvShape(2, 2, 9, 11, 5, 3, 2, 2, 2),    // wide padding, non-square kernel, odd sizes
                new ConvShape(1, 1, 7, 7, 3, 1, 1, 2, 0),     // 1×1 at stride 2: every other pixel
                new ConvShape(5, 2, 6, 6, 4, 3, 3, 1, 1),     // batch 5 on 8 threads and on 1 and 2
                new ConvShape(2, 2, 7, 8, 3, 5, 5, 1, 2),     // two zero columns before the image
                new ConvShape(2, 1, 9, 9, 3, 5, 5, 2, 3),     // and at stride 2
        };
        for (CpuBackend be : backends()) {
            try {
                for (ConvShape s : shapes) {
                    int in = (int) (s.batch() * s.inSize()), out = (int) (s.batch() * s.outSize()), w = (int) s.weightSize();
                    float[] x = CpuTestSupport.uniform(r, in, -1, 1), wt = CpuTestSupport.uniform(r, w, -1, 1);
                    float[] bias = CpuTestSupport.uniform(r, s.outC(), -1, 1);
                    for (boolean relu : new boolean[] {false, true})
                        same("conv2dForward " + s + " relu=" + relu, be, r, 1e-5, new Object[] {CpuTestSupport.nan(out), x, wt, relu ? bias : null},
                                (b, a) -> b.conv2dForward(a[0], a[1], a[2], a[3], s, relu));
                    float[] dy = CpuTestSupport.uniform(r, out, -1, 1), y = CpuTestSupport.uniform(r, out, -1, 1);
                    same("conv2dBackward " + s, be, r, 1e-5,
                            new Object[] {CpuTestSupport.nan(in), CpuTestSupport.nan(w), CpuTestSupport.nan(s.outC()), dy, y, x, wt},
                            (b, a) -> b.conv2dBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], FRSF, s));
                    same("conv2dBackward without dx, db, y " + s, be, r, 1e-5,
                            new Object[] {null, CpuTestSupport.nan(w), null, dy, null, x, wt},
                            (b, a) -> b.conv2dBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], Feedback.bp(), s));
                }
            } finally {
                be.close();
            }
        }
    }

    @Test
    void linearOnEveryThreadCountWithOddSizes() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendThreadsTest.linear");
        int[][] shapes = {{7, 13, 5}, {33, 67, 41}, {2, 200, 300}, {70, 9, 3}};   // batch, in, out
        for (CpuBackend be : backends()) {
            try {
                for (int[] sh : shapes) {
                    int batch = sh[0], in = sh[1], out = sh[2];
                    float[] x = CpuTestSupport.uniform(r, batch * in, -1, 1), w = CpuTestSupport.uniform(r, out * in, -1, 1);
                    float[] bias = CpuTestSupport.uniform(r, out, -1, 1);
                    same("linearForward " + batch + "x" + in + "->" + out, be, r, 1e-5,
                            new Object[] {CpuTestSupport.nan(batch * out), x, w, bias}, (b, a) -> b.linearForward(a[0], a[1], a[2], a[3], batch, in, out, true));
                    float[] dy = CpuTestSupport.uniform(r, batch * out, -1, 1), y = CpuTestSupport.uniform(r, batch * out, -1, 1);
                    same("linearBackward " + batch + "x" + in + "->" + out, be, r, 1e-5,
                            new Object[] {CpuTestSupport.nan(batch * in), CpuTestSupport.nan(out * in), CpuTestSupport.nan(out), dy, y, x, w},
                            (b, a) -> b.linearBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], FRSF, batch, in, out));
                }
            } finally {
                be.close();
            }
        }
    }

    /** n = 512 columns (one whole NC block), or m = 128 rows (one MC block), with k = 256 (one whole KC slice) on one thread: no panel past the block. */
    @Test
    void gemmBlockOfExactlyNcByKcOnOneThread() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendThreadsTest.gemmBlock");
        int batch = 8, in = Gemm.NC, out = Gemm.KC;
        for (CpuBackend be : new CpuBackend[] {CpuBackend.scalar(1), new CpuBackend(Kernels.best(), 1)}) {
            try {
                float[] xf = CpuTestSupport.uniform(r, batch * out, -1, 1), w = CpuTestSupport.uniform(r, out * in, -1, 1);
                // y = x·Wᵀ with W out×in read as in = 256 deep, out = 512 wide
                same("linearForward 8x256->512", be, r, 1e-5, new Object[] {CpuTestSupport.nan(batch * in), xf, CpuTestSupport.uniform(r, in * out, -1, 1), null},
                        (b, a) -> b.linearForward(a[0], a[1], a[2], a[3], batch, out, in, false));
                float[] dy = CpuTestSupport.uniform(r, batch * out, -1, 1), x = CpuTestSupport.uniform(r, batch * in, -1, 1);
                for (Feedback fb : new Feedback[] {Feedback.bp(), FRSF})
                    same("linearBackward dx = g·V, 512 wide, 256 deep, " + fb.mode(), be, r, 1e-5,
                            new Object[] {CpuTestSupport.nan(batch * in), CpuTestSupport.nan(out * in), null, dy, null, x, w},
                            (b, a) -> b.linearBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], fb, batch, in, out));
                // and a row block of exactly MC (128) rows with a full KC: no row panel past the block
                int m = Gemm.MC, n = 16, k = Gemm.KC;
                same("linearForward 128x256->16", be, r, 1e-5, new Object[] {CpuTestSupport.nan(m * n), CpuTestSupport.uniform(r, m * k, -1, 1),
                        CpuTestSupport.uniform(r, n * k, -1, 1), null}, (b, a) -> b.linearForward(a[0], a[1], a[2], a[3], m, k, n, false));
                same("linearBackward dx = g·V, 128 rows, 256 deep", be, r, 1e-5,
                        new Object[] {CpuTestSupport.nan(m * n), CpuTestSupport.nan(k * n), null, CpuTestSupport.uniform(r, m * k, -1, 1), null,
                                CpuTestSupport.uniform(r, m * n, -1, 1), CpuTestSupport.uniform(r, k * n, -1, 1)},
                        (b, a) -> b.linearBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], FRSF, m, n, k));
            } finally {
                be.close();
            }
        }
    }

    @Test
    void batchnormOddSegmentsAndSeveralChunks() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendThreadsTest.batchnorm");
        int[][] shapes = {{3, 5, 1}, {4, 6, 5}, {3, 7, 6}, {2, 3, 7}, {5, 40, 203}, {700, 50, 1}};   // batch, channels, spatial
        for (CpuBackend be : backends()) {
            try {
                for (int[] sh : shapes) {
                    int batch = sh[0], ch = sh[1], sp = sh[2], t = batch * ch * sp;
                    float[] x = CpuTestSupport.uniform(r, t, -2, 3);
                    float[] gamma = CpuTestSupport.uniform(r, ch, 0.5, 1.5), beta = CpuTestSupport.uniform(r, ch, -1, 1);
                    float[] rm = CpuTestSupport.uniform(r, ch, -1, 1), rv = CpuTestSupport.uniform(r, ch, 0.5, 2);
                    String shape = batch + "x" + ch + "x" + sp;
                    for (boolean training : new boolean[] {true, false})
                        for (boolean relu : new boolean[] {false, true})
                            same("batchnormForward " + shape + " training=" + training + " relu=" + relu, be, r, 1e-4,
                                    new Object[] {CpuTestSupport.nan(t), CpuTestSupport.nan(ch), CpuTestSupport.nan(ch), rm, rv, x, gamma, beta},
                                    (b, a) -> b.batchnormForward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], batch, ch, sp,
                                            training, 0.1f, 1e-5f, relu));
                    float[] dy = CpuTestSupport.uniform(r, t, -1, 1), y = CpuTestSupport.uniform(r, t, -1, 1);
                    float[] mean = CpuTestSupport.uniform(r, ch, -0.5, 0.5), inv = CpuTestSupport.uniform(r, ch, 0.5, 2);
                    for (boolean fused : new boolean[] {false, true})
                        same("batchnormBackward " + shape + " fused relu=" + fused, be, r, 1e-4,
                                new Object[] {CpuTestSupport.nan(t), CpuTestSupport.nan(ch), CpuTestSupport.nan(ch), dy, fused ? y : null, x, mean, inv, gamma},
                                (b, a) -> b.batchnormBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], batch, ch, sp));
                }
            } finally {
                be.close();
            }
        }
    }

    /** One value per channel (batch·spatial = 1): variance 0, and the running variance takes it as is, not 0/0. */
    @Test
    void batchnormWithOneValuePerChannelKeepsRunningVarianceFinite() {
        for (CpuBackend be : backends()) {
            try {
                for (int[] sh : new int[][] {{1, 3, 1}, {1, 2, 1}}) {
                    int ch = sh[1];
                    Buffer y = be.alloc(DType.F32, ch), sm = be.alloc(DType.F32, ch), si = be.alloc(DType.F32, ch);
                    Buffer rm = be.alloc(DType.F32, ch), rv = be.alloc(DType.F32, ch), x = be.alloc(DType.F32, ch);
                    Buffer g = be.alloc(DType.F32, ch), bt = be.alloc(DType.F32, ch);
                    be.fill(rv, 1f);
                    be.fill(g, 1f);
                    be.upload(x, java.util.Arrays.copyOf(new float[] {3f, -2f, 0.5f}, ch));
                    be.batchnormForward(y, sm, si, rm, rv, x, g, bt, 1, ch, 1, true, 0.25f, 1e-5f, false);
                    float[] var = CpuTestSupport.download(be, rv), mean = CpuTestSupport.download(be, rm);
                    float[] xs = CpuTestSupport.download(be, x);
                    for (int c = 0; c < ch; c++) {
                        assertEquals(0.75f, var[c], 0f, "running variance of channel " + c + " on " + be.deviceName());
                        assertEquals(0.25f * xs[c], mean[c], 1e-7f, "running mean of channel " + c);
                    }
                    assertArrayEquals(new float[ch], CpuTestSupport.download(be, y), "x − mean is 0 everywhere");
                }
            } finally {
                be.close();
            }
        }
    }

    @Test
    void maxpoolSeveralChunksAndOddPlanes() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendThreadsTest.maxpool");
        int[][] shapes = {{8, 17, 16, 16, 2}, {3, 50, 15, 13, 3}, {4, 30, 11, 14, 2}, {2, 5, 9, 9, 3}};   // batch, ch, h, w, k
        for (CpuBackend be : backends()) {
            try {
                for (int[] sh : shapes) {
                    int batch = sh[0], ch = sh[1], h = sh[2], w = sh[3], k = sh[4];
                    int in = batch * ch * h * w, out = batch * ch * (h / k) * (w / k);
                    float[] x = CpuTestSupport.uniform(r, in, -1, 1);
                    int[] am = new int[out];
                    java.util.Arrays.fill(am, -7);
                    String shape = java.util.Arrays.toString(sh);
                    same("maxpoolForward " + shape, be, r, 0, new Object[] {CpuTestSupport.nan(out), am, x},
                            (b, a) -> b.maxpoolForward(a[0], a[1], a[2], batch, ch, h, w, k));
                    // backward with the argmax of the forward: run it on the reference to get one
                    ReferenceBackend ref = new ReferenceBackend();
                    Buffer ry = ref.alloc(DType.F32, out), ra = ref.alloc(DType.I32, out), rx = ref.alloc(DType.F32, in);
                    ref.upload(rx, x);
                    ref.maxpoolForward(ry, ra, rx, batch, ch, h, w, k);
                    int[] arg = new int[out];
                    ref.download(arg, ra);
                    same("maxpoolBackward " + shape, be, r, 0, new Object[] {CpuTestSupport.nan(in), CpuTestSupport.uniform(r, out, -1, 1), arg},
                            (b, a) -> b.maxpoolBackward(a[0], a[1], a[2], batch, ch, h, w, k));
                }
            } finally {
                be.close();
            }
        }
    }

    @Test
    void updateGatherAndSoftmaxOnEveryThreadCount() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendThreadsTest.update");
        for (CpuBackend be : backends()) {
            try {
                for (int n : new int[] {5, 1027, 40_003}) {
                    float[] p = CpuTestSupport.uniform(r, n, -1, 1), v = CpuTestSupport.uniform(r, n, -1, 1), g = CpuTestSupport.uniform(r, n, -1, 1);
                    for (UpdateRule rule : UpdateRule.values())
                        for (boolean first : new boolean[] {false, true})
                            same("applyUpdate " + rule + " n=" + n + " first=" + first, be, r, 1e-6, new Object[] {p, v, g},
                                    (b, a) -> b.applyUpdate(a[0], a[1], a[2], rule, 0.05f, 0.9f, 1e-3f, first));
                }
                int count = 300, channels = 3, plane = 100, features = channels * plane, batch = 150, start = 20;
                byte[] images = new byte[count * features];
                for (int i = 0; i < images.length; i++) images[i] = (byte) r.nextInt(256);
                int[] labels = new int[count], order = new int[count];
                for (int i = 0; i < count; i++) { labels[i] = r.nextInt(10); order[i] = r.nextInt(count); }
                float[] stats = {0.1f, 0.5f, 0.9f, 2f, 3f, 4f};
                same("gatherStandardize", be, r, 1e-6, new Object[] {CpuTestSupport.nan(batch * features), new int[batch], images, labels, order, stats},
                        (b, a) -> b.gatherStandardize(a[0], a[1], a[2], a[3], a[4], a[5], start, batch, features, plane));
                int sb = 9, classes = 7;
                int[] lab = new int[sb];
                for (int i = 0; i < sb; i++) lab[i] = r.nextInt(classes);
                int[] badLabels = lab.clone();
                badLabels[sb - 1] = classes;
                Buffer d = be.alloc(DType.F32, sb * classes), st = be.alloc(DType.F32, 2), z = be.alloc(DType.F32, sb * classes);
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                        () -> be.softmaxCrossEntropy(d, st, z, CpuTestSupport.uploadInts(be, badLabels), sb, classes));
                assertEquals("softmaxCrossEntropy: labels[" + (sb - 1) + "] = " + classes + " outside 0.." + (classes - 1), e.getMessage());
                same("softmaxCrossEntropy", be, r, 1e-5, new Object[] {CpuTestSupport.nan(sb * classes), CpuTestSupport.nan(2), CpuTestSupport.uniform(r, sb * classes, -5, 5), lab},
                        (b, a) -> b.softmaxCrossEntropy(a[0], a[1], a[2], a[3], sb, classes));
            } finally {
                be.close();
            }
        }
    }

    /**
     * Convolution after ops that left NaN in every scratch buffer (patch matrix, packed panels, padded
     * rows): the zero padding of each must be written, not assumed. 0·NaN is NaN, so a skipped fill shows.
     */
    @Test
    void convolutionIgnoresStaleNaNInScratch() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendThreadsTest.staleScratch");
        ConvShape poison = new ConvShape(2, 4, 20, 20, 3, 3, 3, 1, 0);
        ConvShape[] shapes = {new ConvShape(1, 1, 5, 5, 2, 3, 3, 1, 1), new ConvShape(2, 2, 7, 6, 3, 3, 3, 2, 1)};
        for (CpuBackend be : new CpuBackend[] {CpuBackend.scalar(1), new CpuBackend(Kernels.best(), 1), CpuBackend.scalar(8)}) {
            try {
                for (ConvShape s : shapes) {
                    // fill the scratch with NaN: a forward (patch matrices, packed panels) and a backward of NaN data
                    int pin = (int) (poison.batch() * poison.inSize()), pout = (int) (poison.batch() * poison.outSize());
                    Buffer px = be.alloc(DType.F32, pin), py = be.alloc(DType.F32, pout), pw = be.alloc(DType.F32, poison.weightSize());
                    Buffer pdx = be.alloc(DType.F32, pin), pdw = be.alloc(DType.F32, poison.weightSize());
                    be.fill(px, Float.NaN);
                    be.fill(pw, Float.NaN);
                    be.fill(py, Float.NaN);
                    be.conv2dForward(py, px, pw, null, poison, false);
                    be.conv2dBackward(pdx, pdw, null, py, null, px, pw, FRSF, poison);
                    be.conv2dForward(py, px, pw, null, poison.withBatch(1), false);
                    int in = (int) (s.batch() * s.inSize()), out = (int) (s.batch() * s.outSize()), w = (int) s.weightSize();
                    float[] x = CpuTestSupport.uniform(r, in, -1, 1), wt = CpuTestSupport.uniform(r, w, -1, 1);
                    same("conv2dBackward after NaN scratch " + s, be, r, 1e-5,
                            new Object[] {CpuTestSupport.nan(in), CpuTestSupport.nan(w), CpuTestSupport.nan(s.outC()), CpuTestSupport.uniform(r, out, -1, 1), null, x, wt},
                            (b, a) -> b.conv2dBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], FRSF, s));
                    be.conv2dForward(py, px, pw, null, poison, false);
                    same("conv2dForward after NaN scratch " + s, be, r, 1e-5, new Object[] {CpuTestSupport.nan(out), x, wt, null},
                            (b, a) -> b.conv2dForward(a[0], a[1], a[2], a[3], s, false));
                    // and the outputs are finite (a NaN on both sides would compare equal above)
                    Buffer y = be.alloc(DType.F32, out), xb = be.alloc(DType.F32, in), wb = be.alloc(DType.F32, w);
                    be.upload(xb, x);
                    be.upload(wb, wt);
                    be.conv2dForward(py, px, pw, null, poison, false);
                    be.conv2dForward(y, xb, wb, null, s, false);
                    for (float v : CpuTestSupport.download(be, y)) assertTrue(Float.isFinite(v), "conv2dForward after NaN scratch: " + v);
                }
            } finally {
                be.close();
            }
        }
    }
}
