package asymbp.cuda;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.backend.UpdateRule;
import asymbp.conformance.DeviceBackends;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What only a GPU can check beyond the op conformance suite: the PTX (JIT) module computes what the
 * cubin computes, a CUDA-graph replay of a training step equals the same steps run eagerly, and a
 * capture refuses host work cleanly. Skips (inside each test, reason printed) without a GPU.
 */
class CudaGpuTest {

    private static CudaBackend cubin, ptx;
    private static String skip;
    /** A device is listed but did not open: a bug, not a reason to skip (as DeviceBackends.openOrSkip). */
    private static boolean listed;

    @BeforeAll
    static void open() {
        try {
            cubin = (CudaBackend) new CudaProvider().open(0);
            System.setProperty("asymbp.cuda.ptx", "true");
            try {
                ptx = (CudaBackend) new CudaProvider().open(0);
            } finally {
                System.clearProperty("asymbp.cuda.ptx");
            }
            System.out.println("[cuda] " + cubin.deviceName() + ": modules " + cubin.moduleSource() + " and " + ptx.moduleSource());
        } catch (BackendUnavailableException e) {
            skip = "backend cuda unavailable: " + e.getMessage();
            try {
                listed = !new CudaProvider().devices().isEmpty();
            } catch (BackendUnavailableException none) {
                listed = false;
            }
        }
    }

    @AfterAll
    static void close() {
        if (ptx != null) ptx.close();
        if (cubin != null) cubin.close();
    }

    private static void requireGpu() {
        if (skip != null) {
            if (listed) org.junit.jupiter.api.Assertions.fail("cuda lists a device but does not open: " + skip);
            if (DeviceBackends.required("cuda")) org.junit.jupiter.api.Assertions.fail("-Dasymbp.require names cuda, but " + skip);
            System.out.println("[skip] " + skip);
            org.junit.jupiter.api.Assumptions.abort(skip);
        }
    }

    private static float[] random(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    /** Forward, brsf backward (both tile variants, V regenerated and materialised) and BN on one backend. */
    private static float[] workload(Backend be, long seed, int batch, int in, int out) {
        SplittableRandom r = new SplittableRandom(seed);
        Buffer x = be.alloc(DType.F32, (long) batch * in), w = be.alloc(DType.F32, (long) out * in),
                y = be.alloc(DType.F32, (long) batch * out + 3), dy = be.alloc(DType.F32, (long) batch * out),
                dx = be.alloc(DType.F32, (long) batch * in), dw = be.alloc(DType.F32, (long) out * in),
                bn = be.alloc(DType.F32, 6L * out), z = be.alloc(DType.F32, (long) batch * out);
        be.upload(x, random(r, batch * in));
        be.upload(w, random(r, out * in));
        be.upload(dy, random(r, batch * out));
        Buffer yv = y.slice(3, (long) batch * out); // an odd element offset
        be.linearForward(yv, x, w, null, batch, in, out, true);
        Feedback fb = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, seed, 1, 42);
        be.linearBackward(dx, dw, null, dy, yv, x, w, fb, batch, in, out);
        float[] ones = new float[out];
        java.util.Arrays.fill(ones, 1f);
        be.upload(bn.slice(0, out), ones);
        be.fill(bn.slice(out, out), 0f);
        be.fill(bn.slice(2L * out, out), 0f);
        be.upload(bn.slice(3L * out, out), ones);
        be.batchnormForward(z, bn.slice(4L * out, out), bn.slice(5L * out, out), bn.slice(2L * out, out),
                bn.slice(3L * out, out), yv, bn.slice(0, out), bn.slice(out, out), batch, out, 1, true, 0.1f, 1e-5f, false);
        float[] res = new float[batch * in + out * in + batch * out];
        float[] a = new float[batch * in], b = new float[out * in], c = new float[batch * out];
        be.download(a, dx);
        be.download(b, dw);
        be.download(c, z);
        System.arraycopy(a, 0, res, 0, a.length);
        System.arraycopy(b, 0, res, a.length, b.length);
        System.arraycopy(c, 0, res, a.length + b.length, c.length);
        for (Buffer buf : new Buffer[] {x, w, y, dy, dx, dw, bn, z}) be.free(buf);
        return res;
    }

    @Test
    void ptxModuleMatchesCubin() {
        requireGpu();
        long seed = DeviceBackends.seed("cuda ptx vs cubin");
        float[] a = workload(cubin, seed, 300, 200, 260), b = workload(ptx, seed, 300, 200, 260);
        double worst = maxRel(a, b);
        System.out.println("[cuda] ptx vs cubin: max rel diff " + worst);
        assertTrue(worst < 1e-5, "PTX module differs from the cubin: max rel " + worst);
    }

    /**
     * The 128-tile GEMMs, V written once per product and BN split over blocks agree with 64-tiles
     * regenerating V in the loads and one-pass BN.
     */
    @Test
    void bigTilesAndMaterialisedFeedbackMatchTheSimplePath() {
        requireGpu();
        long seed = DeviceBackends.seed("cuda t128 + materialised V");
        int batch = 2048, in = 512, out = 1152; // 16 × 9 tiles of 128: enough to pick the big variant
        float[] fast = workload(cubin, seed, batch, in, out);
        cubin.forceTile = 64;
        cubin.materializeFactor = Integer.MAX_VALUE;
        cubin.bnSplit = 0;
        float[] simple;
        try {
            simple = workload(cubin, seed, batch, in, out);
        } finally {
            cubin.forceTile = 0;
            cubin.materializeFactor = 4;
            cubin.bnSplit = -1;
        }
        double worst = maxRel(fast, simple);
        System.out.println("[cuda] t128 + materialised V + split BN vs t64, V on the fly, one-pass BN: max rel diff " + worst);
        assertTrue(worst < 1e-4, "big-tile path differs: max rel " + worst);
    }

    private static double maxRel(float[] a, float[] b) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) {
            double e = Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), 1e-2);
            if (!(e <= worst)) worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
        }
        return worst;
    }

    @Test
    void graphReplayEqualsEagerSteps() {
        requireGpu();
        long seed = DeviceBackends.seed("cuda graph replay");
        SplittableRandom r = new SplittableRandom(seed);
        CudaBackend be = cubin;
        int n = 96, batch = 32, feat = 20, classes = 5, steps = 4;
        byte[] img = new byte[n * feat];
        int[] lab = new int[n], order = new int[n];
        for (int i = 0; i < img.length; i++) img[i] = (byte) r.nextInt(256);
        for (int i = 0; i < n; i++) { lab[i] = r.nextInt(classes); order[i] = (i * 37) % n; }
        Buffer images = be.alloc(DType.U8, img.length), labels = be.alloc(DType.I32, n), ord = be.alloc(DType.I32, n),
                ms = be.alloc(DType.F32, 2), x = be.alloc(DType.F32, (long) batch * feat), bl = be.alloc(DType.I32, batch),
                logits = be.alloc(DType.F32, (long) batch * classes), dl = be.alloc(DType.F32, (long) batch * classes),
                stats = be.alloc(DType.F32, 2), params = be.alloc(DType.F32, (long) classes * feat),
                grads = be.alloc(DType.F32, (long) classes * feat), vel = be.alloc(DType.F32, (long) classes * feat);
        be.upload(images, img);
        be.upload(labels, lab);
        be.upload(ord, order);
        be.upload(ms, new float[] {0.5f, 3f});
        float[] p0 = random(r, classes * feat);
        java.util.function.IntFunction<Feedback> fb = t -> new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, seed, 0, t);
        // One step: gather batch i, linear, loss, brsf backward (dx too, to exercise V), update.
        Buffer dx = be.alloc(DType.F32, (long) batch * feat);
        // One step: gather the batch at `start`, linear, loss, brsf backward (dx too, to exercise V), update.
        asymbp.backend.TrainStep step = new asymbp.backend.TrainStep() {
            @Override public void forwardLoss(int start) {
                be.gatherStandardize(x, bl, images, labels, ord, ms, start, batch, feat, feat);
                be.linearForward(logits, x, params, null, batch, feat, classes, false);
                be.softmaxCrossEntropy(dl, stats, logits, bl, batch, classes);
            }
            @Override public void backwardUpdate(int t, float lr, boolean first) {
                be.linearBackward(dx, grads, null, dl, null, x, params, fb.apply(t), batch, feat, classes);
                be.applyUpdate(params, vel, grads, UpdateRule.SGD, lr, 0.9f, 1e-3f, first);
            }
        };
        int[] startOf = {0, batch, 2 * batch, 0};
        float[] lossSum = new float[1], host = new float[2];
        be.upload(params, p0);
        be.fill(vel, 0f);
        for (int i = 0; i < steps; i++) {
            step.forwardLoss(startOf[i]);
            be.download(host, stats);
            lossSum[0] += host[0];
            step.backwardUpdate(i, i < 2 ? 0.1f : 0.05f, i == 0);
        }
        float[] eager = new float[classes * feat], eagerVel = new float[classes * feat], eagerDx = new float[batch * feat];
        be.download(eager, params);
        be.download(eagerVel, vel);
        be.download(eagerDx, dx);

        be.upload(params, p0);
        be.fill(vel, 0f);
        be.fill(dx, Float.NaN);
        // The capture calls the step with placeholder scalars: the replay must take them from the plan.
        try (asymbp.backend.StepReplay g = be.replay(step, stats, batch, Double.MAX_VALUE)) {
            assertTrue(g instanceof GraphStep, "the cuda backend should record a graph, got " + g.getClass().getSimpleName());
            g.plan(new int[] {0, batch}, 0, 0.1f, true);
            g.launch();
            g.launch();
            assertThrows(IllegalStateException.class, g::launch, "launch past the plan");
            asymbp.backend.StepReplay.Outcome o1 = g.finish();
            g.plan(new int[] {2 * batch, 0}, 2, 0.05f, false);
            g.launch();
            g.launch();
            asymbp.backend.StepReplay.Outcome o2 = g.finish();
            assertEquals(2, o1.updated());
            assertEquals(2, o2.updated());
            assertTrue(!o1.halted() && !o2.halted());
            assertEquals(lossSum[0], (float) (o1.lossSum() + o2.lossSum()), 1e-5f * Math.abs(lossSum[0]), "accumulated loss");
        }
        float[] replay = new float[classes * feat], replayVel = new float[classes * feat], replayDx = new float[batch * feat];
        be.download(replay, params);
        be.download(replayVel, vel);
        be.download(replayDx, dx);
        assertArrayEquals(eager, replay, "parameters after graph replay differ from eager steps");
        assertArrayEquals(eagerVel, replayVel, "velocity after graph replay differs from eager steps");
        assertArrayEquals(eagerDx, replayDx, "dx (brsf, step from the plan) after replay differs from eager");
        for (Buffer b : new Buffer[] {images, labels, ord, ms, x, bl, logits, dl, stats, params, grads, vel, dx}) be.free(b);
    }

    @Test
    void captureRefusesHostWorkAndRecovers() {
        requireGpu();
        CudaBackend be = cubin;
        Buffer a = be.alloc(DType.F32, 16), stats = be.alloc(DType.F32, 2);
        asymbp.backend.TrainStep syncs = new asymbp.backend.TrainStep() {
            @Override public void forwardLoss(int start) { be.sync(); }
            @Override public void backwardUpdate(int t, float lr, boolean first) {}
        };
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> be.replay(syncs, stats, 4, 10.0));
        assertTrue(e.getMessage().contains("not allowed inside a captured training step"), e.getMessage());
        be.fill(a, 2f); // the stream left capture mode: ordinary work runs again
        float[] h = new float[16];
        be.download(h, a);
        assertEquals(2f, h[15]);
        assertThrows(IllegalArgumentException.class, () -> be.download(new float[17], a));
        be.free(a);
        be.free(stats);
    }

    /** Trains with the Trainer on cuda with graphs on or off; parameters, momentum, BN state, steps, diverged step. */
    private static Object[] trainOnCuda(asymbp.train.TrainConfig cfg, boolean graphs, int epochs, Runnable betweenEpochs) {
        boolean was = cubin.useGraphs;
        cubin.useGraphs = graphs;
        asymbp.data.Dataset data = asymbp.data.Datasets.load("mnist").limitTrain(1000);
        try (asymbp.train.Trainer t = new asymbp.train.Trainer(cubin, data, cfg)) {
            double[] loss = new double[epochs];
            for (int e = 0; e < epochs && !t.diverged(); e++) {
                loss[e] = t.trainEpoch().loss();
                betweenEpochs.run();
            }
            double te = t.diverged() ? Double.NaN : t.testError();
            System.out.println("[cuda] graphs " + graphs + ": " + t.steps() + " steps (" + t.replayedSteps() + " replayed), losses "
                    + java.util.Arrays.toString(loss) + (t.diverged() ? ", diverged at step " + t.divergedStep() : ", test error " + te));
            if (graphs && !t.diverged()) assertTrue(t.replayedSteps() > 0, "no step was replayed as a graph");
            return new Object[] {t.parameters(), t.velocity(), t.bnState(), loss, t.steps(), t.divergedStep(), te};
        } finally {
            cubin.useGraphs = was;
        }
    }

    /** The generic check is ReplayConformanceTest; this one also replaces scratch memory between epochs. */
    @Test
    void trainerEpochsAsGraphsEqualEagerSteps() {
        requireGpu();
        // LeNet+BN brsf with BM and a schedule; 1000 images at batch 64 leave a partial last batch (eager).
        asymbp.train.TrainConfig cfg = asymbp.train.TrainConfig.defaults().withModel("lenet").withFeedback("brsf")
                .withBn(true).withUpdate("bm").withLr(5e-5).withMomentum(0.9).withBatch(64).withEpochs(3)
                .withLrSteps(java.util.List.of(1, 2)).withLrFactor(0.5).withEvalBatch(500).withQuiet(true);
        // Between epochs a large split batch norm grows the backend's BN scratch buffer (freeing the old
        // one the recorded graph points into): the next epoch's plan must record the graph again.
        Runnable growScratch = () -> {
            int b = 512, ch = 4096;
            Buffer big = cubin.alloc(DType.F32, 2L * b * ch + 6L * ch);
            Buffer bx = big.slice(0, (long) b * ch), by = big.slice((long) b * ch, (long) b * ch), p = big.slice(2L * b * ch, 6L * ch);
            cubin.fill(big, 1f);
            cubin.bnSplit = 64;
            long before = cubin.scratchGeneration();
            try {
                cubin.batchnormForward(by, p.slice(0, ch), p.slice(ch, ch), p.slice(2L * ch, ch), p.slice(3L * ch, ch), bx,
                        p.slice(4L * ch, ch), p.slice(5L * ch, ch), b, ch, 1, true, 0.1f, 1e-5f, false);
            } finally {
                cubin.bnSplit = -1;
            }
            cubin.free(big);
            assertTrue(cubin.scratchGeneration() > before, "the BN scratch buffer should have been replaced by a larger one");
        };
        Object[] eager = trainOnCuda(cfg, false, 2, () -> {}), graph = trainOnCuda(cfg, true, 2, growScratch);
        assertArrayEquals((float[]) eager[0], (float[]) graph[0], "parameters: graph replay vs eager");
        assertArrayEquals((float[]) eager[1], (float[]) graph[1], "momentum: graph replay vs eager");
        assertArrayEquals((float[]) eager[2], (float[]) graph[2], "BN state: graph replay vs eager");
        assertEquals(eager[4], graph[4], "steps");
        assertEquals((double) eager[6], (double) graph[6], "test error");
        double[] le = (double[]) eager[3], lg = (double[]) graph[3];
        for (int e = 0; e < le.length; e++)
            assertEquals(le[e], lg[e], 1e-5 * Math.abs(le[e]), "epoch " + (e + 1) + " loss (the graph sums 64 steps in float)");
    }

    @Test
    void linearForwardMatchesCublasWhereItLoads() {
        requireGpu();
        CudaBackend be = cubin;
        String[] why = new String[1];
        try (CublasReference cublas = CublasReference.open(be, why)) {
            if (cublas == null) {
                System.out.println("[skip] cuBLAS reference: " + why[0]);
                org.junit.jupiter.api.Assumptions.abort("cuBLAS reference: " + why[0]);
            }
            long seed = DeviceBackends.seed("cuda vs cublas");
            SplittableRandom r = new SplittableRandom(seed);
            for (int[] shape : new int[][] {{64, 784, 1024}, {1000, 300, 77}, {3, 4096, 128}}) {
                int b = shape[0], in = shape[1], out = shape[2];
                Buffer x = be.alloc(DType.F32, (long) b * in), w = be.alloc(DType.F32, (long) out * in),
                        y = be.alloc(DType.F32, (long) b * out), ref = be.alloc(DType.F32, (long) b * out);
                be.upload(x, random(r, b * in));
                be.upload(w, random(r, out * in));
                be.fill(y, Float.NaN);
                be.fill(ref, Float.NaN);
                be.linearForward(y, x, w, null, b, in, out, false);
                cublas.linear(ref, x, w, b, in, out);
                float[] a = new float[b * out], c = new float[b * out];
                be.download(a, y);
                be.download(c, ref);
                double worst = 0;
                for (int i = 0; i < a.length; i++) {
                    // Sums of `in` products of values in [-1, 1]: relative error with a floor of 1e-2.
                    double e = Math.abs(a[i] - c[i]) / Math.max(Math.abs(c[i]), 1e-2);
                    if (!(e <= worst)) worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
                }
                System.out.printf("[cuda] linearForward vs cuBLAS %dx%dx%d: max rel err %.3g%n", b, in, out, worst);
                assertTrue(worst < 1e-4, "linearForward vs cuBLAS " + b + "x" + in + "x" + out + ": max rel err " + worst);
                for (Buffer q : new Buffer[] {x, w, y, ref}) be.free(q);
            }
        }
    }
}
