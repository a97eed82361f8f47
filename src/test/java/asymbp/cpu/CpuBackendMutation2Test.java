package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.train.ReferenceBackend;
import java.util.SplittableRandom;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;

/**
 * What CpuBackend decides before any arithmetic, and dfa's projection:
 * <ul>
 *   <li>Which work goes to the pool: each op's work estimate against {@link Parallel#SERIAL_BELOW}, batch
 *       norm's 16-channel groups when there is one value per channel, and the convolution's choice
 *       between one patch matrix per image (batch ≥ threads) and a split GEMM per image. It is seen
 *       through a closed backend: its pool refuses work (RejectedExecutionException), so an op runs to the
 *       end only if all its work stayed on the caller's thread. Shapes sit on either side of the threshold;
 *       what runs is compared element by element with {@link ReferenceBackend} (plain loops, sums in double).
 *   <li>feedbackProject (dx = e·B): its checks (exact messages) and its result on the plain-Java kernels,
 *       whose feedback generator reads the stand-in W (zeros) that the op must size, against e·B in double.
 * </ul>
 */
class CpuBackendMutation2Test {

    /** A backend with {@code threads} threads whose pool is already shut down. */
    private static CpuBackend closed(Kernels kernels, int threads) {
        CpuBackend be = new CpuBackend(kernels, threads);
        be.close();
        return be;
    }

    private static Kernels[] kernelSets() { return new Kernels[] {Kernels.scalar("forced"), Kernels.best()}; }

    /**
     * Runs op on the closed backend be and, if it ran, on the reference, then compares every float buffer
     * within tol·max|reference| and every int buffer exactly. Returns false if be's pool was needed.
     */
    private static boolean runsSerially(String what, CpuBackend be, SplittableRandom r, double tol, Object[] data,
                                        BiConsumer<Backend, Buffer[]> op) {
        Buffer[] c = new Buffer[data.length], q = new Buffer[data.length];
        ReferenceBackend ref = new ReferenceBackend();
        for (int i = 0; i < data.length; i++) {
            if (data[i] == null) continue;
            c[i] = CpuTestSupport.place(be, data[i], r);
            q[i] = CpuTestSupport.place(ref, data[i], null);
        }
        try {
            op.accept(be, c);
        } catch (RejectedExecutionException e) {
            return false;
        }
        op.accept(ref, q);
        CpuTestSupport.assertSameBuffers(what, be, c, ref, q, data, tol);
        return true;
    }

    /** Asserts that op ran on the caller's thread alone, with the reference's results. */
    private static void serial(String what, CpuBackend be, SplittableRandom r, double tol, Object[] data,
                               BiConsumer<Backend, Buffer[]> op) {
        assertTrue(runsSerially(what, be, r, tol, data, op), what + " on " + be.deviceName() + " used the pool; it should stay on the caller's thread");
    }

    /** Asserts that op handed work to the pool. */
    private static void parallel(String what, CpuBackend be, SplittableRandom r, Object[] data, BiConsumer<Backend, Buffer[]> op) {
        assertTrue(!runsSerially(what, be, r, 0, data, op), what + " on " + be.deviceName() + " ran on the caller's thread alone; its work needs the pool");
    }

    // ================================================================ work estimates

    /** gatherStandardize's work is batch·features: 2·16384 reaches the threshold, 2·16383 does not. */
    @Test
    void gatherSplitsAtBatchTimesFeatures() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendMutation2Test.gather");
        CpuBackend be = closed(Kernels.scalar("forced"), 2);
        int count = 3, batch = 2;
        for (int features : new int[] {(int) Parallel.SERIAL_BELOW / batch - 1, (int) Parallel.SERIAL_BELOW / batch}) {
            byte[] images = new byte[count * features];
            for (int i = 0; i < images.length; i++) images[i] = (byte) r.nextInt(256);
            float[] stats = {(float) r.nextDouble(), 0.5f + (float) r.nextDouble()};
            Object[] data = {CpuTestSupport.nan(batch * features), new int[batch], images, new int[] {4, 7, 1}, new int[] {2, 0}, stats};
            BiConsumer<Backend, Buffer[]> op = (b, a) -> b.gatherStandardize(a[0], a[1], a[2], a[3], a[4], a[5], 0, batch, features, features);
            String what = "gatherStandardize batch " + batch + " × features " + features;
            if (batch * (long) features < Parallel.SERIAL_BELOW) serial(what, be, r, 1e-6, data, op);
            else parallel(what, be, r, data, op);
        }
    }

    /**
     * Max pooling's forward work is inputs / inputsPerWork (the vector kernel's inputs are cheaper), its
     * backward work the inputs: one plane fewer than the threshold needs stays on the caller's thread.
     */
    @Test
    void maxpoolSplitsAtItsInputCount() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendMutation2Test.maxpool");
        int h = 16, w = 16, k = 2, plane = h * w, out = (h / k) * (w / k);
        for (Kernels kernels : kernelSets()) {
            CpuBackend be = closed(kernels, 2);
            int perWork = kernels.pool.inputsPerWork(k, w);
            int forwardPlanes = (int) (Parallel.SERIAL_BELOW * perWork / plane);   // exactly the threshold
            for (int planes : new int[] {forwardPlanes - 1, forwardPlanes}) {
                float[] x = CpuTestSupport.uniform(r, planes * plane, -1, 1);
                int[] am = new int[planes * out];
                java.util.Arrays.fill(am, -7);
                Object[] data = {CpuTestSupport.nan(planes * out), am, x};
                BiConsumer<Backend, Buffer[]> op = (b, a) -> b.maxpoolForward(a[0], a[1], a[2], planes, 1, h, w, k);
                String what = "maxpoolForward " + planes + " planes of 16×16, " + perWork + " inputs per unit of work";
                if (planes < forwardPlanes) serial(what, be, r, 0, data, op);
                else parallel(what, be, r, data, op);
            }
            int backwardPlanes = (int) (Parallel.SERIAL_BELOW / plane);
            for (int planes : new int[] {backwardPlanes - 1, backwardPlanes}) {
                float[] x = CpuTestSupport.uniform(r, planes * plane, -1, 1);
                ReferenceBackend ref = new ReferenceBackend();
                Buffer rx = ref.alloc(DType.F32, x.length), ry = ref.alloc(DType.F32, planes * out), ra = ref.alloc(DType.I32, planes * out);
                ref.upload(rx, x);
                ref.maxpoolForward(ry, ra, rx, planes, 1, h, w, k);
                int[] arg = new int[planes * out];
                ref.download(arg, ra);
                Object[] data = {CpuTestSupport.nan(planes * plane), CpuTestSupport.uniform(r, planes * out, -1, 1), arg};
                BiConsumer<Backend, Buffer[]> op = (b, a) -> b.maxpoolBackward(a[0], a[1], a[2], planes, 1, h, w, k);
                String what = "maxpoolBackward " + planes + " planes of 16×16";
                if (planes < backwardPlanes) serial(what, be, r, 0, data, op);
                else parallel(what, be, r, data, op);
            }
        }
    }

    /**
     * Batch norm over one value per channel (spatial 1) hands channels out in groups of 16 (whole vectors):
     * 16 channels are one group and stay on the caller's thread whatever the batch, 17 are two; with
     * spatial 2 every channel is its own unit.
     */
    @Test
    void batchnormGroupsSixteenChannelsWhenSpatialIsOne() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendMutation2Test.batchnorm");
        int[][] shapes = {{4096, 16, 1}, {4096, 17, 1}, {2048, 16, 2}};   // batch, channels, spatial; all ≥ the threshold
        for (Kernels kernels : kernelSets()) {
            CpuBackend be = closed(kernels, 2);
            for (int[] sh : shapes) {
                int batch = sh[0], ch = sh[1], sp = sh[2], t = batch * ch * sp;
                assertTrue(t >= Parallel.SERIAL_BELOW, "shape above the serial threshold");
                boolean oneGroup = sp == 1 && ch <= 16;
                float[] x = CpuTestSupport.uniform(r, t, -2, 3), gamma = CpuTestSupport.uniform(r, ch, 0.5, 1.5);
                float[] beta = CpuTestSupport.uniform(r, ch, -1, 1), rm = CpuTestSupport.uniform(r, ch, -1, 1);
                float[] rv = CpuTestSupport.uniform(r, ch, 0.5, 2);
                String shape = batch + "x" + ch + "x" + sp;
                Object[] fwd = {CpuTestSupport.nan(t), CpuTestSupport.nan(ch), CpuTestSupport.nan(ch), rm, rv, x, gamma, beta};
                BiConsumer<Backend, Buffer[]> forward = (b, a) -> b.batchnormForward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7],
                        batch, ch, sp, true, 0.1f, 1e-5f, false);
                float[] dy = CpuTestSupport.uniform(r, t, -1, 1), mean = CpuTestSupport.uniform(r, ch, -0.5, 0.5);
                float[] inv = CpuTestSupport.uniform(r, ch, 0.5, 2);
                Object[] bwd = {CpuTestSupport.nan(t), CpuTestSupport.nan(ch), CpuTestSupport.nan(ch), dy, null, x, mean, inv, gamma};
                BiConsumer<Backend, Buffer[]> backward = (b, a) -> b.batchnormBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8],
                        batch, ch, sp);
                if (oneGroup) {
                    serial("batchnormForward " + shape, be, r, 1e-4, fwd, forward);
                    serial("batchnormBackward " + shape, be, r, 1e-4, bwd, backward);
                } else {
                    parallel("batchnormForward " + shape, be, r, fwd, forward);
                    parallel("batchnormBackward " + shape, be, r, bwd, backward);
                }
            }
        }
    }

    /**
     * conv2dForward: with batch ≥ threads each image's patch matrix is one unit of a parallel-for whose
     * work is batch·outSize·ckk; with fewer images each image's GEMM is split on its own (outSize·ckk).
     * The bias and ReLU pass is a second parallel-for with work batch·outSize.
     */
    @Test
    void convForwardPicksItsSplitByBatchAndWork() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendMutation2Test.convForward");
        ConvShape big = new ConvShape(2, 2, 8, 8, 16, 3, 3, 1, 1);     // per image 1024·18 = 18432, two images 36864
        ConvShape small = new ConvShape(2, 2, 8, 8, 8, 3, 3, 1, 1);    // two images 18432
        for (Kernels kernels : kernelSets()) {
            CpuBackend two = closed(kernels, 2);
            // batch 2 = threads: one parallel-for over the images, above the threshold
            parallel("conv2dForward " + big + " on 2 threads", two, r, convForward(r, big, false), forward(big, false));
            // one image: its GEMM alone, below the threshold
            serial("conv2dForward " + big.withBatch(1) + " on 2 threads", two, r, 1e-5, convForward(r, big.withBatch(1), false),
                    forward(big.withBatch(1), false));
            serial("conv2dForward " + small + " on 2 threads", two, r, 1e-5, convForward(r, small, false), forward(small, false));

            // 7 images on 8 threads: per-image GEMMs of 8·1024 (serial); the bias pass 7·8·1024 needs the pool
            CpuBackend eight = closed(kernels, 8);
            ConvShape wide = new ConvShape(7, 1, 32, 32, 8, 1, 1, 1, 0), narrow = new ConvShape(7, 1, 16, 16, 8, 1, 1, 1, 0);
            serial("conv2dForward " + wide + " no bias on 8 threads", eight, r, 1e-5, convForward(r, wide, false), forward(wide, false));
            parallel("conv2dForward " + wide + " with bias on 8 threads", eight, r, convForward(r, wide, true), forward(wide, false));
            parallel("conv2dForward " + wide + " relu on 8 threads", eight, r, convForward(r, wide, false), forward(wide, true));
            serial("conv2dForward " + narrow + " bias and relu on 8 threads", eight, r, 1e-5, convForward(r, narrow, true), forward(narrow, true));
        }
    }

    private static Object[] convForward(SplittableRandom r, ConvShape s, boolean bias) {
        return new Object[] {CpuTestSupport.nan((int) (s.batch() * s.outSize())), CpuTestSupport.uniform(r, (int) (s.batch() * s.inSize()), -1, 1),
                CpuTestSupport.uniform(r, (int) s.weightSize(), -1, 1), bias ? CpuTestSupport.uniform(r, s.outC(), -1, 1) : null};
    }

    private static BiConsumer<Backend, Buffer[]> forward(ConvShape s, boolean relu) {
        return (b, a) -> b.conv2dForward(a[0], a[1], a[2], a[3], s, relu);
    }

    /** conv2dBackward's dW pass: work batch·outC·ckk·P, one unit per image. */
    @Test
    void convBackwardWeightPassSplitsAtItsWork() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendMutation2Test.convBackward");
        Feedback frsf = new Feedback(FeedbackMode.FRSF, 0.7f, 0.5f, 0f, false, r.nextLong(), 1, 0);
        ConvShape big = new ConvShape(2, 2, 8, 8, 16, 3, 3, 1, 1);     // 2·16·18·64 = 36864
        ConvShape small = new ConvShape(2, 2, 8, 8, 8, 3, 3, 1, 1);    // 18432
        for (Kernels kernels : kernelSets()) {
            CpuBackend be = closed(kernels, 2);
            for (ConvShape s : new ConvShape[] {big, small}) {
                int in = (int) (s.batch() * s.inSize()), out = (int) (s.batch() * s.outSize()), w = (int) s.weightSize();
                float[] x = CpuTestSupport.uniform(r, in, -1, 1), wt = CpuTestSupport.uniform(r, w, -1, 1);
                float[] dy = CpuTestSupport.uniform(r, out, -1, 1), y = CpuTestSupport.uniform(r, out, -1, 1);
                Object[] dwOnly = {null, CpuTestSupport.nan(w), null, dy, null, x, wt};
                BiConsumer<Backend, Buffer[]> op = (b, a) -> b.conv2dBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], frsf, s);
                if (s == big) {
                    parallel("conv2dBackward dW only " + s, be, r, dwOnly, op);
                } else {
                    serial("conv2dBackward dW only " + s, be, r, 1e-5, dwOnly, op);
                    serial("conv2dBackward " + s, be, r, 1e-5, new Object[] {CpuTestSupport.nan(in), CpuTestSupport.nan(w), CpuTestSupport.nan(s.outC()), dy, y, x, wt}, op);
                }
            }
        }
    }

    // ================================================================ feedbackProject

    /**
     * dx = e·B on the plain-Java kernels (whose generator reads the zeros standing in for W) on fresh
     * backends, shapes growing and shrinking, against e·B in double with B from {@link Feedback#v}.
     */
    @Test
    void feedbackProjectOnPlainJavaKernels() {
        SplittableRandom r = CpuTestSupport.random("CpuBackendMutation2Test.project");
        int[][] shapes = {{5, 3, 40}, {9, 10, 70}, {2, 4, 8}, {3, 2, 129}};   // batch, classes, features (features > classes)
        for (int threads : new int[] {1, 2}) {
            for (boolean uniform : new boolean[] {false, true}) {
                CpuBackend be = CpuBackend.scalar(threads);
                try {
                    Feedback fb = new Feedback(FeedbackMode.FA, 1f, 1f, 0.05f + (float) r.nextDouble(), false, r.nextLong(),
                            r.nextInt(6), 0, uniform);
                    for (int[] sh : shapes) {
                        int batch = sh[0], classes = sh[1], features = sh[2];
                        float[] e = CpuTestSupport.uniform(r, batch * classes, -1, 1);
                        double[] want = new double[batch * features];
                        for (int i = 0; i < batch; i++)
                            for (int j = 0; j < features; j++)
                                for (int c = 0; c < classes; c++)
                                    want[i * features + j] += (double) e[i * classes + c] * fb.v(0f, (long) c * features + j);
                        Buffer dx = CpuTestSupport.poisoned(be, batch * features, r);
                        be.feedbackProject(dx, CpuTestSupport.upload(be, e, r), fb, batch, classes, features);
                        float[] got = CpuTestSupport.download(be, dx);
                        double scale = CpuTestSupport.maxAbs(want);
                        for (int i = 0; i < got.length; i++)
                            if (!(Math.abs(got[i] - want[i]) <= 1e-5 * scale))
                                fail("feedbackProject " + batch + "x" + classes + "->" + features + " " + fb + " on " + be.deviceName()
                                        + ": dx[" + i + "] = " + got[i] + ", e·B in double " + want[i]);
                    }
                } finally {
                    be.close();
                }
            }
        }
    }

    /** A short dx or e view (inside a longer allocation) is refused naming it; a non-fa feedback is refused. */
    @Test
    void feedbackProjectChecksItsArguments() {
        CpuBackend be = CpuBackend.scalar(1);
        try {
            int batch = 3, classes = 4, features = 7;
            Feedback fa = new Feedback(FeedbackMode.FA, 1f, 1f, 0.1f, false, 11L, 0, 0);
            Buffer dx = be.alloc(DType.F32, batch * features + 8), e = be.alloc(DType.F32, batch * classes + 8);
            Buffer dxShort = dx.slice(0, batch * features - 1), eShort = e.slice(0, batch * classes - 1);
            IllegalArgumentException x = assertThrows(IllegalArgumentException.class,
                    () -> be.feedbackProject(dxShort, e.slice(0, batch * classes), fa, batch, classes, features));
            assertEquals("feedbackProject dx: view " + dxShort + " holds " + (batch * features - 1) + " elements, needs " + batch * features,
                    x.getMessage());
            x = assertThrows(IllegalArgumentException.class,
                    () -> be.feedbackProject(dx.slice(0, batch * features), eShort, fa, batch, classes, features));
            assertEquals("feedbackProject e: view " + eShort + " holds " + (batch * classes - 1) + " elements, needs " + batch * classes,
                    x.getMessage());
            for (Feedback other : new Feedback[] {Feedback.bp(), new Feedback(FeedbackMode.FRSF, 1f, 1f, 0f, false, 11L, 0, 0)}) {
                x = assertThrows(IllegalArgumentException.class,
                        () -> be.feedbackProject(dx, e, other, batch, classes, features));
                assertEquals("feedbackProject needs an fa-mode feedback, got " + other.mode().cliName(), x.getMessage());
            }
            // exactly sized views are accepted
            be.feedbackProject(dx.slice(0, batch * features), e.slice(0, batch * classes), fa, batch, classes, features);
        } finally {
            be.close();
        }
    }
}
