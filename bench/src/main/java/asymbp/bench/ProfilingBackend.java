package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.UpdateRule;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Wraps a backend and times every op (waiting for it with sync), keyed by op and shape, so a benchmark
 * can say where a training step's time goes. The sync after each op removes any overlap between ops,
 * so the profiled step is a little slower than the plain one; the shares are what matter.
 */
final class ProfilingBackend implements Backend {
    private final Backend inner;
    private final Map<String, long[]> nanosAndCalls = new LinkedHashMap<>();
    private boolean on = true;

    ProfilingBackend(Backend inner) { this.inner = inner; }

    void enable(boolean on) { this.on = on; }
    void reset() { nanosAndCalls.clear(); }

    private void time(String key, Runnable op) {
        time(key, 0, op);
    }

    /** {@code flop}: the op's multiply-add work ×2, for the GFLOP/s column (0: not a product). */
    private void time(String key, double flop, Runnable op) {
        if (!on) { op.run(); return; }
        long t0 = System.nanoTime();
        op.run();
        inner.sync();
        long dt = System.nanoTime() - t0;
        long[] acc = nanosAndCalls.computeIfAbsent(key, k -> new long[3]);
        acc[0] += dt;
        acc[1]++;
        acc[2] += (long) flop;
    }

    /** One line per op and shape: ms per step, calls per step, share of the profiled time. */
    List<String> report(int steps) {
        long total = 0;
        for (long[] a : nanosAndCalls.values()) total += a[0];
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(nanosAndCalls.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue()[0], a.getValue()[0]));
        List<String> out = new ArrayList<>();
        long flop = 0, productNanos = 0;
        out.add(String.format(Locale.ROOT, "| op and shape | ms/step | calls/step | share | GFLOP/s |"));
        out.add("|---|---:|---:|---:|---:|");
        for (Map.Entry<String, long[]> e : rows) {
            long[] a = e.getValue();
            if (a[2] > 0) { flop += a[2]; productNanos += a[0]; }
            out.add(String.format(Locale.ROOT, "| %s | %.3f | %.1f | %.1f%% | %s |", e.getKey(),
                    a[0] / 1e6 / steps, (double) a[1] / steps, 100.0 * a[0] / total,
                    a[2] > 0 ? String.format(Locale.ROOT, "%.0f", (double) a[2] / a[0]) : ""));
        }
        out.add(String.format(Locale.ROOT, "| **all ops** | %.3f | | 100%% | |", total / 1e6 / steps));
        if (productNanos > 0)
            out.add(String.format(Locale.ROOT, "| *of which linear/conv ops* | %.3f | | %.1f%% | %.0f |",
                    productNanos / 1e6 / steps, 100.0 * productNanos / total, (double) flop / productNanos));
        return out;
    }

    /** 2·(multiply-adds) of one convolution forward: batch·outC·outH·outW·inC·kh·kw. */
    private static double convFlop(ConvShape s) {
        return 2.0 * s.batch() * s.outSize() * s.inC() * s.kh() * s.kw();
    }

    private static String fb(Feedback f) { return f.mode().cliName(); }

    private static String conv(ConvShape s) {
        return s.batch() + "x" + s.inC() + "x" + s.inH() + "x" + s.inW() + "→" + s.outC() + "@" + s.kh() + "x" + s.kw()
                + (s.pad() > 0 ? " pad" + s.pad() : "");
    }

    @Override public String name() { return inner.name(); }
    @Override public String deviceName() { return inner.deviceName(); }
    @Override public Map<String, String> kernelVersions() { return inner.kernelVersions(); }
    @Override public asymbp.backend.DeviceMemory deviceMemory() { return inner.deviceMemory(); }
    @Override public Buffer alloc(DType dtype, long length) { return inner.alloc(dtype, length); }
    @Override public void free(Buffer buffer) { inner.free(buffer); }
    @Override public void upload(Buffer dst, float[] src) { time("upload f32", () -> inner.upload(dst, src)); }
    @Override public void upload(Buffer dst, int[] src) { time("upload i32", () -> inner.upload(dst, src)); }
    @Override public void upload(Buffer dst, byte[] src) { time("upload u8", () -> inner.upload(dst, src)); }
    @Override public void download(float[] dst, Buffer src) { time("download f32", () -> inner.download(dst, src)); }
    @Override public void download(int[] dst, Buffer src) { time("download i32", () -> inner.download(dst, src)); }
    @Override public void fill(Buffer dst, float value) { time("fill", () -> inner.fill(dst, value)); }
    @Override public void copy(Buffer dst, Buffer src) { time("copy", () -> inner.copy(dst, src)); }
    @Override public void sync() { inner.sync(); }
    @Override public void close() { inner.close(); }

    @Override
    public void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                                  Buffer meanInvStd, int start, int batch, int features, int plane) {
        time("gatherStandardize " + batch + "x" + features,
                () -> inner.gatherStandardize(x, labelsOut, images, labels, indices, meanInvStd, start, batch, features, plane));
    }

    @Override
    public void linearForward(Buffer y, Buffer x, Buffer w, Buffer b, int batch, int in, int out, boolean relu) {
        time("linearForward " + batch + "x" + in + "→" + out, 2.0 * batch * in * out, () -> inner.linearForward(y, x, w, b, batch, in, out, relu));
    }

    @Override
    public void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer b, ConvShape s, boolean relu) {
        time("conv2dForward " + conv(s), convFlop(s), () -> inner.conv2dForward(y, x, w, b, s, relu));
    }

    @Override
    public void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar,
                                 Buffer x, Buffer gamma, Buffer beta, int batch, int channels, int spatial,
                                 boolean training, float momentum, float eps, boolean relu) {
        time("batchnormForward " + batch + "x" + channels + "x" + spatial, () -> inner.batchnormForward(y, saveMean,
                saveInvStd, runMean, runVar, x, gamma, beta, batch, channels, spatial, training, momentum, eps, relu));
    }

    @Override
    public void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                                  Buffer saveMean, Buffer saveInvStd, Buffer gamma, int batch, int channels, int spatial) {
        time("batchnormBackward " + batch + "x" + channels + "x" + spatial, () -> inner.batchnormBackward(dx, dgamma,
                dbeta, dy, y, x, saveMean, saveInvStd, gamma, batch, channels, spatial));
    }

    @Override
    public void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k) {
        time("maxpoolForward " + batch + "x" + channels + "x" + h + "x" + w, () -> inner.maxpoolForward(y, argmax, x, batch, channels, h, w, k));
    }

    @Override
    public void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k) {
        time("maxpoolBackward " + batch + "x" + channels + "x" + h + "x" + w, () -> inner.maxpoolBackward(dx, dy, argmax, batch, channels, h, w, k));
    }

    @Override
    public void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes) {
        time("softmaxCrossEntropy", () -> inner.softmaxCrossEntropy(dlogits, stats, logits, labels, batch, classes));
    }

    @Override
    public void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, int batch, int in, int out) {
        time("linearBackward " + fb(fb) + " " + batch + "x" + in + "→" + out + (dx == null ? " (no dx)" : ""),
                2.0 * batch * in * out * (dx == null ? 1 : 2), () -> inner.linearBackward(dx, dw, db, dy, y, x, w, fb, batch, in, out));
    }

    @Override
    public void feedbackProject(Buffer dx, Buffer e, Feedback fb, int batch, int classes, int features) {
        time("feedbackProject " + fb(fb) + " " + batch + "x" + classes + "→" + features,
                2.0 * batch * classes * features, () -> inner.feedbackProject(dx, e, fb, batch, classes, features));
    }

    @Override
    public void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, ConvShape s) {
        time("conv2dBackward " + fb(fb) + " " + conv(s) + (dx == null ? " (no dx)" : ""),
                convFlop(s) * (dx == null ? 1 : 2), () -> inner.conv2dBackward(dx, dw, db, dy, y, x, w, fb, s));
    }

    @Override
    public void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule,
                            float lr, float momentum, float weightDecay, boolean firstStep) {
        time("applyUpdate " + rule.cliName() + " n=" + params.length(),
                () -> inner.applyUpdate(params, velocity, grads, rule, lr, momentum, weightDecay, firstStep));
    }
}
