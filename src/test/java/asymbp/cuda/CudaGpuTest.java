package asymbp.cuda;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.DeviceBackend;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.backend.Kernel;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import asymbp.backend.UpdateRule;
import asymbp.conformance.DeviceBackends;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What only a GPU can check: every version of every kernel (version 1 pinned for every op, 64- and
 * 128-tiles pinned, V materialised, batch norm in one pass and split) against the CPU oracle with the
 * outputs poisoned; every module loaded from its cubin on sm_80/sm_90; the PTX (JIT) modules compute
 * what the cubins compute; a CUDA-graph replay equals the same steps run eagerly, which equal the oracle;
 * a capture refuses host work cleanly. Every hook a test changes is restored to its previous value.
 * Skips (inside each test, reason printed) without a GPU.
 */
class CudaGpuTest {

    private static DeviceBackend cubin, ptx;
    private static String skip;
    /** A device is listed but did not open: a bug, not a reason to skip (as DeviceBackends.openOrSkip). */
    private static boolean listed;

    @BeforeAll
    static void open() {
        try {
            cubin = (DeviceBackend) new CudaProvider().open(0);
            String was = System.setProperty("asymbp.cuda.ptx", "true");
            try {
                ptx = (DeviceBackend) new CudaProvider().open(0);
            } finally {
                if (was == null) System.clearProperty("asymbp.cuda.ptx");
                else System.setProperty("asymbp.cuda.ptx", was);
            }
            System.out.println("[cuda] " + cubin.deviceName() + ": modules " + sources(cubin) + " and " + sources(ptx));
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

    private static Map<String, String> sources(DeviceBackend be) { return ((CudaDevice) be.device()).moduleSources(); }

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

    @Test
    void everyModuleIsLoadedFromItsCubin() {
        requireGpu();
        Map<String, String> src = sources(cubin);
        assertEquals(new java.util.TreeSet<>(Kernel.modules()), src.keySet(), "one module per op file");
        int arch = ((CudaDevice) cubin.device()).arch();
        boolean cubins = KernelArtifacts.CUBIN_ARCHS.contains(arch / 10 * 10) && !Boolean.getBoolean("asymbp.cuda.ptx");
        src.forEach((m, from) -> assertTrue(cubins ? from.endsWith(".sm_" + arch / 10 * 10 + ".cubin") : from.contains(".ptx"),
                "sm_" + arch + ": module " + m + " came from " + from));
        sources(ptx).forEach((m, from) -> assertTrue(from.endsWith(".ptx"), "-Dasymbp.cuda.ptx=true: module " + m + " came from " + from));
    }

    // --------------------------------------------------------------------- every version vs the oracle

    /**
     * Every op once, on fresh random inputs from {@code seed}, outputs poisoned with NaN first: linear and
     * convolution forward and brsf backward (sizes no tile divides; a LeNet-like convolution with one
     * input channel too), batch norm over rows and NCHW in training and evaluation, softmax, max-pool,
     * gather, both updates. Returns every output by name.
     */
    private static Map<String, float[]> everyOp(Backend be, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Map<String, Buffer> bufs = new LinkedHashMap<>();
        Map<String, float[]> out = new TreeMap<>();
        java.util.List<Buffer> allocs = new java.util.ArrayList<>();
        java.util.function.BiFunction<DType, Integer, Buffer> alloc = (t, n) -> {
            Buffer b = be.alloc(t, n + 3L);
            allocs.add(b);
            return b.slice(3, n); // an odd element offset
        };
        java.util.function.BiFunction<String, Integer, Buffer> in = (name, n) -> {
            Buffer b = alloc.apply(DType.F32, n);
            be.upload(b, random(r, n));
            bufs.put(name, b);
            return b;
        };
        java.util.function.BiFunction<String, Integer, Buffer> outp = (name, n) -> {
            Buffer b = alloc.apply(DType.F32, n);
            be.fill(b, Float.NaN);
            bufs.put(name, b);
            return b;
        };
        Feedback fb = new Feedback(FeedbackMode.BRSF, 0.7f, 1f, 0f, false, seed, 2, 9);
        int batch = 300, inF = 200, outF = 260;
        Buffer x = in.apply("x", batch * inF), w = in.apply("w", outF * inF), b = in.apply("b", outF), dy = in.apply("dy", batch * outF);
        Buffer y = outp.apply("linear y", batch * outF), dx = outp.apply("linear dx", batch * inF),
                dw = outp.apply("linear dw", outF * inF), db = outp.apply("linear db", outF);
        be.linearForward(y, x, w, b, batch, inF, outF, true);
        be.linearBackward(dx, dw, db, dy, y, x, w, fb, batch, inF, outF);
        for (ConvShape s : new ConvShape[] {new ConvShape(16, 8, 20, 20, 24, 3, 3, 1, 1), new ConvShape(8, 1, 12, 12, 6, 5, 5, 1, 0)}) {
            String c = "conv" + s.inC() + " ";
            int nIn = (int) (s.batch() * s.inSize()), nOut = (int) (s.batch() * s.outSize()), nW = (int) s.weightSize();
            Buffer cx = in.apply(c + "x", nIn), cw = in.apply(c + "w", nW), cb = in.apply(c + "b", s.outC()), cdy = in.apply(c + "dy", nOut);
            Buffer cy = outp.apply(c + "y", nOut), cdx = outp.apply(c + "dx", nIn), cdw = outp.apply(c + "dw", nW), cdb = outp.apply(c + "db", s.outC());
            be.conv2dForward(cy, cx, cw, cb, s, true);
            be.conv2dBackward(cdx, cdw, cdb, cdy, cy, cx, cw, fb, s);
        }
        // Batch norm over the linear output (rows) and over an NCHW tensor, ReLU fused, then evaluation.
        for (int[] sh : new int[][] {{batch, outF, 1}, {16, 24, 400}}) {
            String c = "bn" + sh[2] + " ";
            int n = sh[0] * sh[1] * sh[2], ch = sh[1];
            Buffer bx = in.apply(c + "x", n), gamma = in.apply(c + "gamma", ch), beta = in.apply(c + "beta", ch), bdy = in.apply(c + "dy", n);
            Buffer rm = in.apply(c + "runMean", ch), rv = in.apply(c + "runVar", ch);
            be.upload(rv, new float[ch]); // a variance: 0 before the update
            Buffer by = outp.apply(c + "y", n), mean = outp.apply(c + "saveMean", ch), inv = outp.apply(c + "saveInvStd", ch);
            Buffer bdx = outp.apply(c + "dx", n), dg = outp.apply(c + "dgamma", ch), dbt = outp.apply(c + "dbeta", ch),
                    ey = outp.apply(c + "eval y", n);
            be.batchnormForward(by, mean, inv, rm, rv, bx, gamma, beta, sh[0], ch, sh[2], true, 0.1f, 1e-5f, true);
            be.batchnormBackward(bdx, dg, dbt, bdy, by, bx, mean, inv, gamma, sh[0], ch, sh[2]);
            be.batchnormForward(ey, null, null, rm, rv, bx, gamma, beta, sh[0], ch, sh[2], false, 0.1f, 1e-5f, false);
            bufs.put(c + "runMean", rm);
            bufs.put(c + "runVar", rv);
        }
        Buffer logits = in.apply("logits", 64 * 10), labels = alloc.apply(DType.I32, 64);
        int[] lab = new int[64];
        for (int i = 0; i < 64; i++) lab[i] = r.nextInt(10);
        be.upload(labels, lab);
        be.softmaxCrossEntropy(outp.apply("softmax dlogits", 640), outp.apply("softmax stats", 2), logits, labels, 64, 10);
        Buffer px = in.apply("pool x", 16 * 24 * 400), argmax = alloc.apply(DType.I32, 16 * 24 * 100);
        be.maxpoolForward(outp.apply("pool y", 16 * 24 * 100), argmax, px, 16, 24, 20, 20, 2);
        be.maxpoolBackward(outp.apply("pool dx", 16 * 24 * 400), in.apply("pool dy", 16 * 24 * 100), argmax, 16, 24, 20, 20, 2);
        byte[] img = new byte[50 * 3 * 16];
        for (int i = 0; i < img.length; i++) img[i] = (byte) r.nextInt(256);
        int[] order = new int[50], labs = new int[50];
        for (int i = 0; i < 50; i++) { order[i] = (i * 7) % 50; labs[i] = r.nextInt(10); }
        Buffer images = alloc.apply(DType.U8, img.length), il = alloc.apply(DType.I32, 50), io = alloc.apply(DType.I32, 50),
                bl = alloc.apply(DType.I32, 20);
        be.upload(images, img);
        be.upload(il, labs);
        be.upload(io, order);
        be.gatherStandardize(outp.apply("gather x", 20 * 48), bl, images, il, io, in.apply("meanInvStd", 6), 10, 20, 48, 16);
        for (UpdateRule rule : UpdateRule.values()) {
            String c = "update " + rule + " ";
            Buffer th = in.apply(c + "params", 5000), v = in.apply(c + "velocity", 5000), g = in.apply(c + "grads", 5000);
            be.applyUpdate(th, v, g, rule, 0.05f, 0.9f, 1e-3f, false);
        }
        for (Map.Entry<String, Buffer> e : bufs.entrySet()) {
            if (e.getKey().endsWith(" x") && !e.getKey().startsWith("gather")) continue; // inputs
            float[] h = new float[(int) e.getValue().length()];
            be.download(h, e.getValue());
            out.put(e.getKey(), h);
        }
        int[] gl = new int[20];
        be.download(gl, bl);
        float[] glf = new float[20];
        for (int i = 0; i < 20; i++) glf[i] = gl[i];
        out.put("gather labels", glf);
        for (Buffer a : allocs) be.free(a);
        return out;
    }

    /** Element-wise relative error, judged against max(|oracle|, 0.1 · rms(oracle)), as the conformance suite does. */
    private static void assertMatches(String config, Map<String, float[]> want, Map<String, float[]> got, double bound, Backend be) {
        assertEquals(want.keySet(), got.keySet());
        double worstAll = 0;
        for (String k : want.keySet()) {
            float[] a = got.get(k), b = want.get(k);
            double sq = 0;
            for (float v : b) sq += (double) v * v;
            double floor = Math.max(0.1 * Math.sqrt(sq / Math.max(1, b.length)), 1e-30), worst = 0;
            for (int i = 0; i < b.length; i++) {
                int at = i;
                assertTrue(Float.isFinite(a[i]), () -> config + ", " + k + ": element " + at + " is " + a[at] + " (unwritten?), oracle " + b[at]);
                worst = Math.max(worst, Math.abs((double) a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
            }
            double e = worst;
            assertTrue(worst <= bound, () -> config + ", " + k + ": max relative error " + e + " > " + bound);
            worstAll = Math.max(worstAll, worst);
        }
        System.out.printf("[%s] %-40s %d outputs, max rel err %.2e; versions %s%n", be.name(), config, want.size(), worstAll,
                be.kernelVersions());
    }

    @Test
    void everyVersionMatchesTheCpuOracle() {
        requireGpu();
        long seed = DeviceBackends.seed("cuda every version vs oracle");
        Map<String, float[]> want;
        try (Backend cpu = DeviceBackends.cpu()) {
            want = everyOp(cpu, seed);
        }
        // Version v pinned for every op that has it (older ops keep their newest below v); v3 splits BN in 7 chunks.
        for (int v = 1; v <= 4; v++) {
            Map<String, Integer> was = new TreeMap<>();
            int chunks = cubin.bnChunks(v == 3 ? 7 : 0);
            try {
                for (String m : Kernel.modules()) was.put(m, cubin.forceVersion(m, Math.min(v, Kernel.maxVersion(m))));
                assertMatches("v" + v + " pinned", want, everyOp(cubin, seed), 5e-5, cubin);
                for (String m : Kernel.modules())
                    if (Kernel.maxVersion(m) >= v && !m.equals("step_replay"))
                        assertTrue(cubin.kernelVersions().getOrDefault(m, "").contains("v" + v), m + " never ran v" + v);
            } finally {
                was.forEach(cubin::forceVersion);
                cubin.bnChunks(chunks);
            }
        }
        assertMatches("versions by size", want, everyOp(cubin, seed), 5e-5, cubin);
    }

    @Test
    void ptxModulesMatchCubins() {
        requireGpu();
        long seed = DeviceBackends.seed("cuda ptx vs cubin");
        // The driver's JIT and nvcc's ptxas compile the same PTX; the results should agree to the last bits.
        assertMatches("PTX modules vs the cubins", everyOp(cubin, seed), everyOp(ptx, seed), 1e-6, ptx);
    }

    /** -Dasymbp.cuda.sync=true (what the GPU check reruns a failed phase with) waits after every launch, also around a capture. */
    @Test
    void synchronisingEveryLaunchChangesNoResult() throws Exception {
        requireGpu();
        long seed = DeviceBackends.seed("cuda sync after every launch");
        String was = System.setProperty("asymbp.cuda.sync", "true");
        DeviceBackend synced;
        try {
            synced = (DeviceBackend) new CudaProvider().open(0);
        } finally {
            if (was == null) System.clearProperty("asymbp.cuda.sync");
            else System.setProperty("asymbp.cuda.sync", was);
        }
        try (synced) {
            assertMatches("every launch synchronised", everyOp(cubin, seed), everyOp(synced, seed), 0, synced);
            try (Toy t = new Toy(synced, seed); StepReplay g = synced.replay(t.step, t.stats, Toy.BATCH, Double.MAX_VALUE)) {
                assertTrue(g instanceof GraphStep, "a graph is recorded with every launch synchronised");
                g.plan(new int[] {0, Toy.BATCH}, 0, 0.1f, true);
                g.launch();
                g.launch();
                assertEquals(2, g.finish().updated());
            }
        }
    }

    // ----------------------------------------------------------------------------- graph replay

    /** A toy training step (gather, linear, loss, brsf backward with dx, update) on any backend. */
    private static final class Toy implements AutoCloseable {
        static final int N = 96, BATCH = 32, FEAT = 20, CLASSES = 5;
        final Backend be;
        final Buffer images, labels, ord, ms, x, bl, logits, dl, stats, params, grads, vel, dx;
        final TrainStep step;

        Toy(Backend be, long seed) {
            this.be = be;
            SplittableRandom r = new SplittableRandom(seed);
            byte[] img = new byte[N * FEAT];
            int[] lab = new int[N], order = new int[N];
            for (int i = 0; i < img.length; i++) img[i] = (byte) r.nextInt(256);
            for (int i = 0; i < N; i++) { lab[i] = r.nextInt(CLASSES); order[i] = (i * 37) % N; }
            images = be.alloc(DType.U8, img.length); labels = be.alloc(DType.I32, N); ord = be.alloc(DType.I32, N);
            ms = be.alloc(DType.F32, 2); x = be.alloc(DType.F32, (long) BATCH * FEAT); bl = be.alloc(DType.I32, BATCH);
            logits = be.alloc(DType.F32, (long) BATCH * CLASSES); dl = be.alloc(DType.F32, (long) BATCH * CLASSES);
            stats = be.alloc(DType.F32, 2); params = be.alloc(DType.F32, (long) CLASSES * FEAT);
            grads = be.alloc(DType.F32, (long) CLASSES * FEAT); vel = be.alloc(DType.F32, (long) CLASSES * FEAT);
            dx = be.alloc(DType.F32, (long) BATCH * FEAT);
            be.upload(images, img);
            be.upload(labels, lab);
            be.upload(ord, order);
            be.upload(ms, new float[] {0.5f, 3f});
            be.upload(params, random(r, CLASSES * FEAT));
            be.fill(vel, 0f);
            be.fill(dx, Float.NaN);
            step = new TrainStep() {
                @Override public void forwardLoss(int start) {
                    be.gatherStandardize(x, bl, images, labels, ord, ms, start, BATCH, FEAT, FEAT);
                    be.linearForward(logits, x, params, null, BATCH, FEAT, CLASSES, false);
                    be.softmaxCrossEntropy(dl, stats, logits, bl, BATCH, CLASSES);
                }
                @Override public void backwardUpdate(int t, float lr, boolean first) {
                    be.linearBackward(dx, grads, null, dl, null, x, params, new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, seed, 0, t),
                            BATCH, FEAT, CLASSES);
                    be.applyUpdate(params, vel, grads, UpdateRule.SGD, lr, 0.9f, 1e-3f, first);
                }
            };
        }

        static final int[] STARTS = {0, BATCH, 2 * BATCH, 0};

        static float lr(int i) { return i < 2 ? 0.1f : 0.05f; }

        /** The four steps eagerly; returns the summed loss. */
        float eager() {
            float loss = 0;
            float[] host = new float[2];
            for (int i = 0; i < STARTS.length; i++) {
                step.forwardLoss(STARTS[i]);
                be.download(host, stats);
                loss += host[0];
                step.backwardUpdate(i, lr(i), i == 0);
            }
            return loss;
        }

        float[][] read() {
            float[][] out = {new float[CLASSES * FEAT], new float[CLASSES * FEAT], new float[BATCH * FEAT]};
            be.download(out[0], params);
            be.download(out[1], vel);
            be.download(out[2], dx);
            return out;
        }

        @Override public void close() {
            for (Buffer b : new Buffer[] {images, labels, ord, ms, x, bl, logits, dl, stats, params, grads, vel, dx}) be.free(b);
        }
    }

    @Test
    void graphReplayEqualsEagerStepsAndTheOracle() {
        requireGpu();
        long seed = DeviceBackends.seed("cuda graph replay");
        float[][] oracle, eager, replay;
        try (Backend cpu = DeviceBackends.cpu(); Toy t = new Toy(cpu, seed)) {
            t.eager();
            oracle = t.read();
        }
        float lossSum;
        try (Toy t = new Toy(cubin, seed)) {
            lossSum = t.eager();
            eager = t.read();
        }
        String[] what = {"parameters", "velocity", "dx"};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < oracle[i].length; j++)
                assertEquals(oracle[i][j], eager[i][j], 1e-5 * Math.max(1, Math.abs(oracle[i][j])), what[i] + " " + j + ": eager cuda vs the cpu oracle");
        // The capture calls the step with placeholder scalars: the replay must take them from the plan.
        try (Toy t = new Toy(cubin, seed); StepReplay g = cubin.replay(t.step, t.stats, Toy.BATCH, Double.MAX_VALUE)) {
            assertTrue(g instanceof GraphStep, "the cuda backend should record a graph, got " + g.getClass().getSimpleName());
            g.plan(new int[] {0, Toy.BATCH}, 0, Toy.lr(0), true);
            g.launch();
            g.launch();
            assertThrows(IllegalStateException.class, g::launch, "launch past the plan");
            StepReplay.Outcome o1 = g.finish();
            g.plan(new int[] {2 * Toy.BATCH, 0}, 2, Toy.lr(2), false);
            g.launch();
            g.launch();
            StepReplay.Outcome o2 = g.finish();
            assertEquals(2, o1.updated());
            assertEquals(2, o2.updated());
            assertTrue(!o1.halted() && !o2.halted());
            assertEquals(lossSum, (float) (o1.lossSum() + o2.lossSum()), 1e-5f * Math.abs(lossSum), "accumulated loss");
            replay = t.read();
        }
        for (int i = 0; i < 3; i++) assertArrayEquals(eager[i], replay[i], what[i] + " after graph replay differ from eager steps");
    }

    @Test
    void captureRefusesHostWorkAndRecovers() {
        requireGpu();
        DeviceBackend be = cubin;
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
        boolean was = cubin.graphs(graphs);
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
            cubin.graphs(was);
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
            int chunks = cubin.bnChunks(64);
            long before = cubin.scratchGeneration();
            try {
                cubin.batchnormForward(by, p.slice(0, ch), p.slice(ch, ch), p.slice(2L * ch, ch), p.slice(3L * ch, ch), bx,
                        p.slice(4L * ch, ch), p.slice(5L * ch, ch), b, ch, 1, true, 0.1f, 1e-5f, false);
            } finally {
                cubin.bnChunks(chunks);
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
        DeviceBackend be = cubin;
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
