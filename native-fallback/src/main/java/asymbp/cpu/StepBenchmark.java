package asymbp.cpu;

import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.backend.UpdateRule;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Times whole training steps of the two benchmark nets on random data, straight through the Backend
 * ops (no engine): LeNet+BN at batch 64 and MLP 784-1024-1024-1024-10+BN at batch 128.
 * {@code java --add-modules jdk.incubator.vector -cp target/classes asymbp.cpu.StepBenchmark [mode] [seconds] [lenet,mlp]}
 */
public final class StepBenchmark {
    private StepBenchmark() {}

    /** A tiny sequential net over one flat parameter buffer, enough to drive the ops in training order. */
    private static final class Net {
        final CpuBackend be;
        final int batch;
        final Feedback fb;
        final List<Runnable> forward = new ArrayList<>(), backward = new ArrayList<>();
        final List<float[]> paramInit = new ArrayList<>();
        int paramCount;
        Buffer params, grads, velocity;
        final List<long[]> pending = new ArrayList<>();
        final SplittableRandom r = new SplittableRandom(7);

        Net(CpuBackend be, int batch, Feedback fb) { this.be = be; this.batch = batch; this.fb = fb; }

        int param(int n, float scale, float constant) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) v[i] = scale == 0 ? constant : (float) ((r.nextDouble() * 2 - 1) * scale);
            paramInit.add(v);
            int at = paramCount;
            paramCount += n;
            return at;
        }

        void build() {
            params = be.alloc(DType.F32, paramCount);
            grads = be.alloc(DType.F32, paramCount);
            velocity = be.alloc(DType.F32, paramCount);
            int at = 0;
            for (float[] v : paramInit) { be.upload(params.slice(at, v.length), v); at += v.length; }
            be.fill(grads, 0f);
            be.fill(velocity, 0f);
        }

        Buffer p(int at, int n) { return params.slice(at, n); }
        Buffer g(int at, int n) { return grads.slice(at, n); }
    }

    static double lastCpuRate;

    private static long processCpuNanos() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean ? ((com.sun.management.OperatingSystemMXBean) os).getProcessCpuTime() : 0;
    }

    static double imagesPerSecond(CpuBackend be, String model, Feedback fb, double seconds) {
        boolean lenet = model.equals("lenet");
        int batch = lenet ? 64 : 128;
        Net net = new Net(be, batch, fb);
        Buffer x0 = be.alloc(DType.F32, batch * 784), dx0 = null;
        float[] xs = new float[batch * 784];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) net.r.nextDouble();
        be.upload(x0, xs);
        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++) labels[b] = net.r.nextInt(10);
        Buffer lab = be.alloc(DType.I32, batch);
        be.upload(lab, labels);

        // Layer descriptions: each adds its forward and (prepended) backward closure.
        List<Runnable> fwd = net.forward, bwd = net.backward;
        Buffer[] cur = {x0};
        Buffer[] curGrad = {null};
        int[] layerIndex = {0};
        class Builder {
            Buffer act(long n) { return be.alloc(DType.F32, n); }

            /** conv (no bias) + BN + ReLU + maxpool 2. */
            void convBlock(int inC, int h, int outC, int k, int pad) {
                ConvShape s = new ConvShape(batch, inC, h, h, outC, k, k, 1, pad);
                int wAt = net.param((int) s.weightSize(), (float) (1 / Math.sqrt(inC * k * k)), 0);
                int gAt = net.param(outC, 0, 1), bAt = net.param(outC, 0, 0);
                int oh = s.outH(), sp = oh * oh;
                Buffer in = cur[0], y = act(batch * s.outSize()), z = act(batch * s.outSize());
                Buffer mean = act(outC), inv = act(outC), rm = act(outC), rv = act(outC);
                be.fill(rm, 0); be.fill(rv, 1);
                Buffer pooled = act((long) batch * outC * (oh / 2) * (oh / 2));
                Buffer am = be.alloc(DType.I32, pooled.length());
                Buffer dPooled = act(pooled.length()), dz = act(z.length()), dy = act(y.length());
                Buffer dIn = in == x0 ? null : act(in.length());
                Buffer dInFinal = dIn;
                Buffer[] dOut = {dPooled};
                Feedback f = fb.withLayer(layerIndex[0]++, 0.1f);
                fwd.add(() -> {
                    be.conv2dForward(y, in, net.p(wAt, (int) s.weightSize()), null, s, false);
                    be.batchnormForward(z, mean, inv, rm, rv, y, net.p(gAt, outC), net.p(bAt, outC), batch, outC, sp, true, 0.1f, 1e-5f, true);
                    be.maxpoolForward(pooled, am, z, batch, outC, oh, oh, 2);
                });
                Buffer[] gradIn = {dIn};
                bwd.add(0, () -> {
                    be.maxpoolBackward(dz, dOut[0], am, batch, outC, oh, oh, 2);
                    be.batchnormBackward(dy, net.g(gAt, outC), net.g(bAt, outC), dz, z, y, mean, inv, net.p(gAt, outC), batch, outC, sp);
                    be.conv2dBackward(dInFinal, net.g(wAt, (int) s.weightSize()), null, dy, null, in, net.p(wAt, (int) s.weightSize()), f, s);
                });
                cur[0] = pooled;
                curGradChain(dPooled, gradIn[0]);
            }

            /** linear (no bias) + BN + ReLU, or linear + bias as the last layer. */
            void linear(int in, int out, boolean last) {
                int wAt = net.param(out * in, (float) (1 / Math.sqrt(in)), 0);
                int bAt = last ? net.param(out, (float) (1 / Math.sqrt(in)), 0) : net.param(out, 0, 0);
                int gAt = last ? -1 : net.param(out, 0, 1);
                Buffer x = cur[0], y = act((long) batch * out), z = last ? y : act((long) batch * out);
                Buffer mean = act(out), inv = act(out), rm = act(out), rv = act(out);
                be.fill(rm, 0); be.fill(rv, 1);
                Buffer dz = act(z.length()), dy = last ? dz : act(y.length());
                Buffer dx = x == x0 ? null : act(x.length());
                Feedback f = fb.withLayer(layerIndex[0]++, 0.1f);
                fwd.add(() -> {
                    if (last) be.linearForward(y, x, net.p(wAt, out * in), net.p(bAt, out), batch, in, out, false);
                    else {
                        be.linearForward(y, x, net.p(wAt, out * in), null, batch, in, out, false);
                        be.batchnormForward(z, mean, inv, rm, rv, y, net.p(gAt, out), net.p(bAt, out), batch, out, 1, true, 0.1f, 1e-5f, true);
                    }
                });
                bwd.add(0, () -> {
                    if (!last) be.batchnormBackward(dy, net.g(gAt, out), net.g(bAt, out), dz, z, y, mean, inv, net.p(gAt, out), batch, out, 1);
                    be.linearBackward(dx, net.g(wAt, out * in), last ? net.g(bAt, out) : null, dy, null, x, net.p(wAt, out * in), f, batch, in, out);
                });
                cur[0] = z;
                curGradChain(dz, dx);
            }

            final List<Buffer[]> chain = new ArrayList<>();

            /** Records (this layer's output gradient, its input gradient) so layers can be linked. */
            void curGradChain(Buffer dOut, Buffer dIn) { chain.add(new Buffer[] {dOut, dIn}); }
        }
        Builder bld = new Builder();
        if (lenet) {
            bld.convBlock(1, 28, 6, 5, 2);
            bld.convBlock(6, 14, 16, 5, 0);
            bld.linear(400, 120, false);
            bld.linear(120, 84, false);
            bld.linear(84, 10, true);
        } else {
            bld.linear(784, 1024, false);
            bld.linear(1024, 1024, false);
            bld.linear(1024, 1024, false);
            bld.linear(1024, 10, true);
        }
        net.build();
        // Link: a layer's input gradient buffer is the previous layer's output gradient: copy between them.
        List<Buffer[]> chain = bld.chain;
        Buffer logits = cur[0], dlogits = chain.get(chain.size() - 1)[0], stats = be.alloc(DType.F32, 2);
        Runnable step = () -> {
            for (Runnable f : fwd) f.run();
            be.softmaxCrossEntropy(dlogits, stats, logits, lab, batch, 10);
            for (int l = chain.size() - 1; l >= 0; l--) {
                bwd.get(l).run();
                if (l > 0) be.copy(chain.get(l - 1)[0], chain.get(l)[1]);
            }
            be.applyUpdate(net.params, net.velocity, net.grads, UpdateRule.SGD, 0.01f, 0.9f, 1e-4f, false);
        };
        for (long w0 = System.nanoTime(); System.nanoTime() - w0 < 2e9; ) step.run();   // JIT warm-up
        long t0 = System.nanoTime(), cpu0 = processCpuNanos();
        int steps = 0;
        while (System.nanoTime() - t0 < seconds * 1e9) { step.run(); steps++; }
        double secs = (System.nanoTime() - t0) * 1e-9, cpuSecs = (processCpuNanos() - cpu0) * 1e-9;
        // On a shared machine wall time includes other processes' turns; CPU time over the thread count
        // estimates the wall time the same work takes on idle cores.
        lastCpuRate = steps * batch / (cpuSecs / be.parallel().threads());
        float[] st = new float[2];
        be.download(st, stats);
        if (!Float.isFinite(st[0])) throw new IllegalStateException("loss not finite: " + st[0]);
        return steps * batch / secs;
    }

    public static void main(String[] args) {
        String mode = args.length > 0 ? args[0] : "bp";
        double seconds = args.length > 1 ? Double.parseDouble(args[1]) : 3;
        String[] models = args.length > 2 ? args[2].split(",") : new String[] {"lenet", "mlp"};
        Feedback fb = new Feedback(FeedbackMode.valueOf(mode.toUpperCase(java.util.Locale.ROOT)), 1f, 0.5f, 0.1f, false, 42L, 0, 5);
        int threads = Integer.getInteger("asymbp.threads", Runtime.getRuntime().availableProcessors());
        try (CpuBackend be = new CpuBackend(Kernels.best(), threads)) {
            System.out.println(be.deviceName() + ", mode " + mode);
            for (String m : models)
                System.out.printf("%-6s batch %3d: %.0f img/s wall, %.0f img/s by CPU time%n", m, m.equals("lenet") ? 64 : 128,
                        imagesPerSecond(be, m, fb, seconds), lastCpuRate);
        }
    }
}
