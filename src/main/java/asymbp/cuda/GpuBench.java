package asymbp.cuda;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.DeviceBackend;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import asymbp.backend.UpdateRule;
import asymbp.model.FeedbackSpec;
import asymbp.model.Net;
import asymbp.rng.Philox;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The Java side of the GPU check (bench/gpu/check.sh): step times of LeNet+BN (batch 64) and an MLP
 * 4×4096+BN (batch 1024) in bp and brsf, eagerly and replayed as a CUDA graph; the bandwidth of the
 * BN and update kernels against a device-to-device copy. Validates before timing: the graph replay
 * must give the same parameters as the same steps run eagerly.
 *
 * <pre>java -cp asymbp.jar asymbp.cuda.GpuBench [--quick] [--json FILE]</pre>
 * Prints one "RESULT key value" line per number and writes them as JSON.
 */
public final class GpuBench {

    private final DeviceBackend be;
    private final boolean quick;
    private final Map<String, Double> results = new LinkedHashMap<>();
    private final java.util.List<String> failures = new java.util.ArrayList<>();

    private GpuBench(DeviceBackend be, boolean quick) {
        this.be = be;
        this.quick = quick;
    }

    public static void main(String[] args) throws Exception {
        boolean quick = false;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--json" -> json = Path.of(args[++i]);
                default -> {
                    System.err.println("GpuBench: unknown argument '" + args[i] + "' (expected --quick, --json FILE)");
                    System.exit(2);
                }
            }
        }
        Backend b;
        try {
            b = Backends.provider("cuda").open(0);
        } catch (BackendUnavailableException e) {
            System.err.println("GpuBench: " + e.getMessage());
            System.exit(3);
            return;
        }
        try (DeviceBackend cuda = (DeviceBackend) b) {
            System.out.println("GpuBench on " + cuda.deviceName() + " (modules " + ((CudaDevice) cuda.device()).moduleSources() + ")");
            GpuBench g = new GpuBench(cuda, quick);
            g.run();
            if (json != null) g.writeJson(json);
            if (!g.failures.isEmpty()) {
                System.out.println("GpuBench: " + g.failures.size() + " part(s) failed: " + g.failures);
                System.exit(1);
            }
        }
    }

    private void run() {
        phase("copy bandwidth", this::copyBandwidth);
        phase("BN and update bandwidth", this::kernelBandwidth);
        phase("SGEMM", this::gemm);
        for (String fb : new String[] {"bp", "brsf", "dfa"}) {
            phase("lenet " + fb, () -> model("lenet", "lenet", 1, 28, 28, 64, fb, quick ? 100 : 400));
            phase("mlp " + fb, () -> model("mlp", "mlp:4096-4096-4096-4096", 1, 28, 28, 1024, fb, quick ? 10 : 40));
        }
        for (String m : new String[] {"lenet", "mlp"})
            for (String how : new String[] {"graph", "eager"}) {
                Double bp = results.get(m + "_bp_" + how + "_ms");
                for (String fb : new String[] {"brsf", "dfa"}) {
                    Double other = results.get(m + "_" + fb + "_" + how + "_ms");
                    if (bp != null && other != null) put(m + "_" + fb + "_over_bp_" + how, other / bp);
                }
            }
    }

    private void put(String key, double v) {
        results.put(key, v);
        System.out.println(String.format(Locale.ROOT, "RESULT %s %.6g", key, v));
    }

    // ------------------------------------------------------------------------------ bandwidth

    /** Device-to-device copy of 256 MiB: bytes read + written per second, GB/s. */
    private void copyBandwidth() {
        long n = 64L << 20;
        Buffer a = be.alloc(DType.F32, n), c = be.alloc(DType.F32, n);
        be.fill(a, 1f);
        int reps = quick ? 10 : 40;
        for (int i = 0; i < 3; i++) be.copy(c, a);
        be.sync();
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) be.copy(c, a);
        be.sync();
        double s = (System.nanoTime() - t0) * 1e-9 / reps;
        put("copy_gbps", 2.0 * n * 4 / s / 1e9);
        be.free(a);
        be.free(c);
    }

    /** BN forward/backward (both layouts) and the update, minimal bytes moved per second, GB/s. */
    private void kernelBandwidth() {
        int reps = quick ? 10 : 50;
        // After a linear layer: 1024 × 4096, spatial 1. After a convolution: 256 × 64 × 32×32.
        int[][] shapes = {{1024, 4096, 1}, {256, 64, 1024}};
        String[] names = {"rows", "nchw"};
        for (int s = 0; s < shapes.length; s++) {
            int batch = shapes[s][0], ch = shapes[s][1], sp = shapes[s][2];
            long n = (long) batch * ch * sp;
            Buffer x = be.alloc(DType.F32, n), y = be.alloc(DType.F32, n), dy = be.alloc(DType.F32, n), dx = be.alloc(DType.F32, n);
            Buffer p = be.alloc(DType.F32, 8L * ch);
            be.upload(x, random(n, 1));
            be.upload(dy, random(n, 2));
            float[] ones = new float[ch];
            java.util.Arrays.fill(ones, 1f);
            Buffer gamma = p.slice(0, ch), beta = p.slice(ch, ch), mean = p.slice(2L * ch, ch), inv = p.slice(3L * ch, ch),
                    rm = p.slice(4L * ch, ch), rv = p.slice(5L * ch, ch), dg = p.slice(6L * ch, ch), db = p.slice(7L * ch, ch);
            be.upload(gamma, ones);
            be.fill(beta, 0f);
            be.fill(rm, 0f);
            be.upload(rv, ones);
            Runnable fwd = () -> be.batchnormForward(y, mean, inv, rm, rv, x, gamma, beta, batch, ch, sp, true, 0.1f, 1e-5f, true);
            Runnable bwd = () -> be.batchnormBackward(dx, dg, db, dy, y, x, mean, inv, gamma, batch, ch, sp);
            // Minimal traffic: forward reads x, writes y; backward reads dy, y, x, writes dx.
            put("bn_fwd_" + names[s] + "_gbps", 8.0 * n / time(fwd, reps) / 1e9);
            put("bn_bwd_" + names[s] + "_gbps", 16.0 * n / time(bwd, reps) / 1e9);
            for (Buffer b : new Buffer[] {x, y, dy, dx, p}) be.free(b);
        }
        long n = 16L << 20;
        Buffer th = be.alloc(DType.F32, n), v = be.alloc(DType.F32, n), g = be.alloc(DType.F32, n);
        be.upload(th, random(n, 3));
        be.upload(g, random(n, 4));
        be.fill(v, 0f);
        // Reads θ, v, g; writes θ, v.
        put("update_gbps", 20.0 * n / time(() -> be.applyUpdate(th, v, g, UpdateRule.SGD, 1e-3f, 0.9f, 1e-4f, false), reps) / 1e9);
        be.free(th);
        be.free(v);
        be.free(g);
    }

    /**
     * The product kernel alone: linearForward (no bias, no ReLU) at batch 1024, 4096 → 4096, GFLOP/s;
     * cuBLAS SGEMM on the same buffers when JCublas loads (it needs libcublas.so.12), else its reason.
     * torch_bench.py times torch's (cuBLAS, TF32 off) product of the same shape in the same check.
     */
    private void gemm() {
        int b = 1024, in = 4096, out = 4096;
        Buffer x = be.alloc(DType.F32, (long) b * in), w = be.alloc(DType.F32, (long) out * in), y = be.alloc(DType.F32, (long) b * out);
        be.upload(x, random((long) b * in, 5));
        be.upload(w, random((long) out * in, 6));
        double flop = 2.0 * b * in * out;
        int reps = quick ? 10 : 30;
        put("gemm_1024x4096x4096_gflops", flop / time(() -> be.linearForward(y, x, w, null, b, in, out, false), reps) / 1e9);
        String[] why = new String[1];
        try (CublasReference cublas = CublasReference.open(be, why)) {
            if (cublas == null) {
                System.out.println("RESULT-NOTE cublas unavailable: " + why[0]);
            } else {
                float[] ours = new float[b * out], ref = new float[b * out];
                be.download(ours, y);
                cublas.linear(y, x, w, b, in, out);
                be.download(ref, y);
                double worst = 0;
                for (int i = 0; i < ours.length; i++)
                    worst = Math.max(worst, Math.abs(ours[i] - ref[i]) / Math.max(1e-3, Math.abs(ref[i])));
                put("gemm_vs_cublas_maxrel", worst);
                put("cublas_gemm_1024x4096x4096_gflops", flop / time(() -> cublas.linear(y, x, w, b, in, out), reps) / 1e9);
            }
        }
        be.free(x);
        be.free(w);
        be.free(y);
    }

    private double time(Runnable op, int reps) {
        for (int i = 0; i < 3; i++) op.run();
        be.sync();
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) op.run();
        be.sync();
        return (System.nanoTime() - t0) * 1e-9 / reps;
    }

    private static float[] random(long n, int purpose) {
        float[] a = new float[(int) n];
        java.util.SplittableRandom r = new java.util.SplittableRandom(purpose);
        for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    // ------------------------------------------------------------------------- training steps

    /** One model's step: everything the Trainer allocates, on a synthetic uint8 dataset. */
    private final class Step implements TrainStep, AutoCloseable {
        final Net net;
        final Net.Workspace ws;
        final Buffer images, labels, order, meanInvStd, batchLabels, stats, params, grads, velocity, state;
        final FeedbackSpec fb;
        final int batch, features, plane, n;
        final long seed = 7;
        final float[] initStd;

        Step(String model, int c, int h, int w, int batch, String feedback, int batches) {
            this.net = Net.build(model, c, h, w, 10, true);
            this.batch = batch;
            this.features = c * h * w;
            this.plane = h * w;
            this.n = batch * batches;
            this.fb = FeedbackSpec.parse(feedback, 1f, false, 0f, false);
            byte[] img = new byte[n * features];
            int[] lab = new int[n], ord = new int[n];
            for (int i = 0; i < img.length; i++) img[i] = (byte) (Philox.word(seed, Philox.PURPOSE_SHUFFLE, 9, 0, i) >>> 24);
            for (int i = 0; i < n; i++) { lab[i] = i % 10; ord[i] = (int) ((i * 7919L) % n); }
            images = be.alloc(DType.U8, img.length);
            labels = be.alloc(DType.I32, n);
            order = be.alloc(DType.I32, n);
            meanInvStd = be.alloc(DType.F32, 2L * c);
            batchLabels = be.alloc(DType.I32, batch);
            stats = be.alloc(DType.F32, 2);
            params = be.alloc(DType.F32, net.params().size());
            grads = be.alloc(DType.F32, net.params().size());
            velocity = be.alloc(DType.F32, net.params().size());
            state = be.alloc(DType.F32, Math.max(1, net.state().size()));
            ws = net.workspace(be, batch);
            be.upload(images, img);
            be.upload(labels, lab);
            be.upload(order, ord);
            float[] ms = new float[2 * c];
            for (int i = 0; i < c; i++) { ms[i] = 0.5f; ms[c + i] = 3.5f; }
            be.upload(meanInvStd, ms);
            initStd = new float[net.weightLayers().size()];
            for (int i = 0; i < initStd.length; i++) initStd[i] = Net.initStd(net.weightLayers().get(i), false);
            reset();
        }

        void reset() {
            be.upload(params, net.initialParameters(seed, false));
            float[] s = net.initialState();
            be.upload(state, s.length == 0 ? new float[1] : s);
            be.fill(velocity, 0f);
        }

        int startOf(int stepIndex) { return (stepIndex % (n / batch)) * batch; }

        /** Enqueues one training step (no host reads), eagerly. */
        void enqueue(int stepIndex, int t, float lr, boolean first) {
            forwardLoss(startOf(stepIndex));
            backwardUpdate(t, lr, first);
        }

        @Override public void forwardLoss(int start) {
            be.gatherStandardize(ws.input(batch), batchLabels, images, labels, order, meanInvStd, start, batch, features, plane);
            net.forward(be, ws, params, state, batch, true);
            be.softmaxCrossEntropy(ws.dlogits(batch), stats, ws.logits(batch), batchLabels, batch, 10);
        }

        @Override public void backwardUpdate(int t, float lr, boolean first) {
            int last = net.weightLayers().size() - 1;
            List<Net.WeightLayer> wl = net.weightLayers();
            net.backward(be, ws, params, grads, batch,
                    layer -> fb.forLayer(seed, layer, t, layer == last, initStd[layer], wl.get(layer).fanIn(), wl.get(layer).fanOut()),
                    !fb.direct() ? null : layer -> fb.direct(seed, layer, layer == last, initStd[layer], 10, wl.get(layer).inFeatures()),
                    false);
            be.applyUpdate(params, velocity, grads, UpdateRule.SGD, lr, 0.9f, 1e-4f, first);
        }

        float[] download(Buffer b, long len) {
            float[] a = new float[(int) len];
            be.download(a, b);
            return a;
        }

        @Override public void close() {
            ws.close();
            for (Buffer b : new Buffer[] {images, labels, order, meanInvStd, batchLabels, stats, params, grads, velocity, state})
                be.free(b);
        }
    }

    private void model(String key, String model, int c, int h, int w, int batch, String feedback, int steps) {
        String k = key + "_" + feedback;
        float lr = 0.01f;
        try (Step s = new Step(model, c, h, w, batch, feedback, 16)) {
            // Eager step time: ops enqueued one by one, one sync at the end (no per-step host read).
            int warm = Math.max(5, steps / 10);
            s.enqueue(0, 0, lr, true);
            for (int i = 1; i < warm; i++) s.enqueue(i, i, lr, false);
            be.sync();
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) s.enqueue(i, i, lr, false);
            be.sync();
            put(k + "_eager_ms", (System.nanoTime() - t0) * 1e-6 / steps);
            phase(k + " graph", () -> graph(s, k, batch, steps, warm, lr));
        }
    }

    /** Validates the graph replay against eager steps (bit for bit expected), then times it. */
    private void graph(Step s, String k, int batch, int steps, int warm, float lr) {
        int check = 5;
        s.reset();
        s.enqueue(0, 0, lr, true);
        for (int i = 1; i <= check; i++) s.enqueue(i, i, lr, false);
        float[] eager = s.download(s.params, s.net.params().size());
        s.reset();
        s.enqueue(0, 0, lr, true);
        // No divergence bound here (synthetic labels): every replay updates.
        try (StepReplay g = be.replay(s, s.stats, batch, Double.MAX_VALUE)) {
            if (!(g instanceof GraphStep)) throw new IllegalStateException("the cuda backend did not record a graph");
            int[] starts = new int[check];
            for (int i = 0; i < check; i++) starts[i] = s.startOf(i + 1);
            g.plan(starts, 1, lr, false);
            for (int i = 0; i < check; i++) g.launch();
            g.finish();
            float[] replay = s.download(s.params, s.net.params().size());
            double maxRel = 0;
            for (int i = 0; i < eager.length; i++) {
                double d = Math.abs(eager[i] - replay[i]) / Math.max(1e-6, Math.abs(eager[i]));
                if (!(d <= maxRel)) maxRel = Double.isNaN(d) ? Double.POSITIVE_INFINITY : Math.max(maxRel, d);
            }
            put(k + "_graph_vs_eager_maxrel", maxRel);
            if (!(maxRel < 1e-4))
                throw new IllegalStateException("graph replay differs from eager steps (max rel " + maxRel + ")");

            int[] all = new int[steps + warm];
            for (int i = 0; i < all.length; i++) all[i] = s.startOf(i);
            g.plan(all, 100, lr, false);
            for (int i = 0; i < warm; i++) g.launch();
            be.sync();
            long t0 = System.nanoTime();
            for (int i = 0; i < steps; i++) g.launch();
            be.sync();
            put(k + "_graph_ms", (System.nanoTime() - t0) * 1e-6 / steps);
            StepReplay.Outcome st = g.finish();
            put(k + "_mean_loss", st.lossSum() / ((double) st.updated() * batch));
        }
    }

    /**
     * Runs one part of the benchmark; a failure is reported ("PHASE-FAILED") and the rest still runs:
     * the GPU check gets one try per GPU session, so one broken part must not cost the others.
     */
    private void phase(String name, Runnable part) {
        try {
            part.run();
        } catch (RuntimeException | LinkageError e) {
            System.out.println("PHASE-FAILED " + name + ": " + e);
            e.printStackTrace(System.out);
            failures.add(name + ": " + e.getMessage());
            try {
                be.sync();
            } catch (RuntimeException ignored) {
                // a sticky CUDA error: the remaining phases will report theirs
            }
        }
    }

    private void writeJson(Path file) throws IOException {
        StringBuilder sb = new StringBuilder("{\n  \"device\": \"" + be.deviceName().replace("\"", "'") + "\"");
        for (Map.Entry<String, Double> e : results.entrySet()) {
            double v = e.getValue();
            sb.append(",\n  \"").append(e.getKey()).append("\": ")
                    .append(Double.isFinite(v) ? String.format(Locale.ROOT, "%.6g", v) : "null");
        }
        sb.append(",\n  \"kernel_versions\": {");
        String sep = "";
        for (Map.Entry<String, String> e : be.kernelVersions().entrySet()) {
            sb.append(sep).append("\n    \"").append(e.getKey()).append("\": \"").append(e.getValue()).append('"');
            sep = ",";
        }
        sb.append("\n  }\n}\n");
        Files.writeString(file, sb.toString());
    }
}
