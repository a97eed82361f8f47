package asymbp.conformance;

import asymbp.backend.Backend;
import asymbp.backend.ConvShape;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.backend.UpdateRule;
import asymbp.conformance.Twins.Twin;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every Backend op of every device backend against the CPU oracle: fresh random inputs (seed printed,
 * -Dasymbp.seed=N reproduces), shapes that are not multiples of any tile next to the real LeNet and MLP
 * shapes, outputs poisoned with NaN, every element compared by relative error. Every feedback mode in
 * both backward ops, both updates. A backend that does not open skips each test with its reason
 * (under CI=true a missing OpenCL fails instead).
 */
class OpConformanceTest {

    /** float32 bounds: products, reductions and BN (sums of up to ~50k terms in different orders). */
    static final double GEMM_BOUND = 3e-5, REDUCE_BOUND = 3e-5, EXACT_BOUND = 1e-6;

    static List<String> backends() { return DeviceBackends.NAMES; }

    private static final Map<String, Backend> OPEN = new HashMap<>();
    private static Backend cpu;

    /** One open device backend per name for the whole class (the OpenCL program builds once). */
    static Twins twins(String name, String test) {
        Backend dev = OPEN.get(name);
        if (dev == null) {
            dev = DeviceBackends.openOrSkip(name);
            OPEN.put(name, dev);
        }
        if (cpu == null) cpu = DeviceBackends.cpu();
        System.out.println(test + " on " + dev.deviceName());
        return new Twins(dev, cpu, DeviceBackends.seed(test + "/" + name));
    }

    @AfterAll
    static void closeAll() {
        for (Backend b : OPEN.values()) b.close();
        OPEN.clear();
        if (cpu != null) cpu.close();
        cpu = null;
    }

    // ------------------------------------------------------------------ shapes

    /** batch, in, out: odd sizes around the 64-tile, a 1×1×1 corner, LeNet's fc layers, the MLP. */
    static final int[][] LINEAR = {
            {37, 75, 53}, {1, 1, 1}, {65, 129, 63}, {64, 400, 120}, {64, 120, 84}, {64, 84, 10},
            {64, 784, 1024}, {64, 1024, 1024}, {64, 1024, 10}};

    /** LeNet's two convolutions, odd shapes with stride and padding, wider ones (the last: CUDA's 128-tile dW). */
    static final ConvShape[] CONV = {
            new ConvShape(64, 1, 28, 28, 6, 5, 5, 1, 2),
            new ConvShape(64, 6, 14, 14, 16, 5, 5, 1, 0),
            new ConvShape(3, 3, 11, 9, 7, 3, 3, 2, 1),
            new ConvShape(5, 2, 13, 12, 70, 4, 2, 3, 0),
            new ConvShape(2, 33, 9, 9, 65, 3, 3, 1, 1),
            new ConvShape(3, 20, 10, 11, 130, 3, 3, 1, 1)};

    // ------------------------------------------------------------------ ops

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void gatherStandardize(String name) {
        try (Twins t = twins(name, "gatherStandardize")) {
            for (int[] s : new int[][]{{100, 784, 784}, {40, 3 * 32 * 32, 1024}, {17, 3 * 5 * 7, 35}}) {
                int n = s[0], features = s[1], plane = s[2], channels = features / plane, batch = 13;
                byte[] img = new byte[n * features];
                for (int i = 0; i < img.length; i++) img[i] = (byte) t.rnd.nextInt(256);
                int[] labels = new int[n], order = new int[n];
                for (int i = 0; i < n; i++) { labels[i] = t.rnd.nextInt(10); order[i] = t.rnd.nextInt(n); }
                float[] mis = new float[2 * channels];
                for (int c = 0; c < channels; c++) { mis[c] = (float) t.rnd.nextDouble(); mis[channels + c] = 1f / (0.1f + (float) t.rnd.nextDouble()); }
                Twin images = t.in(img), lab = t.in(labels), idx = t.in(order), m = t.in(mis);
                Twin x = t.out(batch * features), lo = t.outInt(batch);
                int start = Math.min(5, n - batch);
                t.both((b, S) -> b.gatherStandardize(S.of(x), S.of(lo), S.of(images), S.of(lab), S.of(idx), S.of(m),
                        start, batch, features, plane));
                t.assertClose("gather x " + n + "x" + features, x, EXACT_BOUND);
                t.assertEqualInts("gather labels", lo);
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void linearForward(String name) {
        try (Twins t = twins(name, "linearForward")) {
            for (int[] s : LINEAR) {
                int batch = s[0], in = s[1], out = s[2];
                for (int variant = 0; variant < 2; variant++) {
                    boolean bias = variant == 0, relu = variant == 0;
                    Twin x = t.in(t.gaussian(batch * in, 1)), w = t.in(t.gaussian(out * in, 1 / Math.sqrt(in)));
                    Twin b = bias ? t.in(t.gaussian(out, 0.1)) : null;
                    Twin y = t.out(batch * out);
                    t.both((be, S) -> be.linearForward(S.of(y), S.of(x), S.of(w), S.of(b), batch, in, out, relu));
                    t.assertClose("linearForward " + batch + "x" + in + "->" + out + (bias ? " +b+relu" : ""), y, GEMM_BOUND);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void conv2dForward(String name) {
        try (Twins t = twins(name, "conv2dForward")) {
            for (ConvShape s : CONV) {
                for (int variant = 0; variant < 2; variant++) {
                    boolean bias = variant == 0, relu = variant == 0;
                    int fanIn = s.inC() * s.kh() * s.kw();
                    Twin x = t.in(t.gaussian((int) (s.batch() * s.inSize()), 1));
                    Twin w = t.in(t.gaussian((int) s.weightSize(), 1 / Math.sqrt(fanIn)));
                    Twin b = bias ? t.in(t.gaussian(s.outC(), 0.1)) : null;
                    Twin y = t.out((int) (s.batch() * s.outSize()));
                    t.both((be, S) -> be.conv2dForward(S.of(y), S.of(x), S.of(w), S.of(b), s, relu));
                    t.assertClose("conv2dForward " + s + (bias ? " +b+relu" : ""), y, GEMM_BOUND);
                }
            }
        }
    }

    /**
     * The feedback of one test layer: every mode, with a half-normal variant of brsf, and --fb-scale xavier's
     * variants (usf and frsf at a Xavier scale, fa's uniform B on a Xavier bound) for a 400×120 layer.
     */
    static Feedback[] feedbacks(Twins t) {
        FeedbackMode[] modes = FeedbackMode.kernelModes();
        Feedback[] out = new Feedback[modes.length + 4];
        for (int i = 0; i < modes.length; i++)
            out[i] = new Feedback(modes[i], modes[i] == FeedbackMode.USF ? 0.5f : 1f, 0.3f, 0.05f, false,
                    t.rnd.nextLong(), t.rnd.nextInt(8), t.rnd.nextInt(1000));
        out[modes.length] = new Feedback(FeedbackMode.BRSF, 2f, 1f, 0f, true, t.rnd.nextLong(), 3, 17);
        asymbp.model.FeedbackSpec x = asymbp.model.FeedbackSpec.parse("usf", asymbp.model.FbScale.XAVIER, false, 0f, false);
        out[modes.length + 1] = x.forLayer(t.rnd.nextLong(), 2, 5, false, 0.05f, 400, 120);
        out[modes.length + 2] = asymbp.model.FeedbackSpec.parse("frsf", asymbp.model.FbScale.XAVIER, false, 0f, false)
                .forLayer(t.rnd.nextLong(), 1, 5, false, 0.05f, 400, 120);
        out[modes.length + 3] = asymbp.model.FeedbackSpec.parse("fa", asymbp.model.FbScale.XAVIER, false, 0f, false)
                .forLayer(t.rnd.nextLong(), 4, 5, false, 0.05f, 400, 120);
        return out;
    }

    /** A feedback's label: its mode and variants. */
    static String label(Feedback fb) {
        return fb.mode().cliName() + (fb.halfNormal() ? "/halfnormal" : "") + (fb.uniformB() ? "/uniformB" : "")
                + (fb.mode() == FeedbackMode.USF || fb.mode() == FeedbackMode.FRSF ? "/s=" + fb.scale() : "");
    }

    /** dfa's projection dx = e·B_l (classes → the layer's input), normal and Xavier-uniform B. */
    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void feedbackProjectDfa(String name) {
        try (Twins t = twins(name, "feedbackProject")) {
            int[][] shapes = {{64, 10, 1176}, {64, 10, 400}, {37, 10, 84}, {1, 3, 1}, {65, 17, 300}};
            for (int[] s : shapes)
                for (boolean xavier : new boolean[] {false, true}) {
                    int batch = s[0], classes = s[1], features = s[2];
                    asymbp.model.FeedbackSpec spec = asymbp.model.FeedbackSpec.parse("dfa",
                            xavier ? asymbp.model.FbScale.XAVIER : asymbp.model.FbScale.ONE, false, 0f, false);
                    Feedback fb = spec.direct(t.rnd.nextLong(), t.rnd.nextInt(5), false, 0.05f, classes, features);
                    Twin e = t.in(t.gradients(batch * classes, 0.5)), dx = t.out(batch * features);
                    t.both((be, S) -> be.feedbackProject(S.of(dx), S.of(e), fb, batch, classes, features));
                    t.assertClose("feedbackProject " + label(fb) + " " + batch + "x" + classes + "->" + features, dx, GEMM_BOUND);
                }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void linearBackwardEveryFeedbackMode(String name) {
        try (Twins t = twins(name, "linearBackward")) {
            Feedback[] fbs = feedbacks(t);
            int v = 0;
            for (int[] s : LINEAR) {
                int batch = s[0], in = s[1], out = s[2];
                // the large MLP shapes get two modes each, the small ones all of them
                int modes = in * out > 100_000 ? 2 : fbs.length;
                for (int k = 0; k < modes; k++, v++) {
                    Feedback fb = fbs[(v) % fbs.length];
                    boolean withY = v % 2 == 0, withDx = v % 3 != 2, withDb = v % 4 != 3;
                    Twin x = t.in(t.activations(batch * in)), w = t.in(t.gaussian(out * in, 1 / Math.sqrt(in)));
                    Twin dy = t.in(t.gradients(batch * out, 0.5)), y = withY ? t.in(t.relu(batch * out)) : null;
                    Twin dx = withDx ? t.out(batch * in) : null, dw = t.out(out * in), db = withDb ? t.out(out) : null;
                    t.both((be, S) -> be.linearBackward(S.of(dx), S.of(dw), S.of(db), S.of(dy), S.of(y), S.of(x), S.of(w),
                            fb, batch, in, out));
                    String what = "linearBackward " + label(fb)
                            + " " + batch + "x" + in + "->" + out + (withY ? " relu" : "");
                    t.assertClose(what + " dW", dw, GEMM_BOUND);
                    if (withDb) t.assertClose(what + " db", db, REDUCE_BOUND);
                    if (withDx) t.assertClose(what + " dx", dx, GEMM_BOUND);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void conv2dBackwardEveryFeedbackMode(String name) {
        try (Twins t = twins(name, "conv2dBackward")) {
            Feedback[] fbs = feedbacks(t);
            int v = 0;
            for (ConvShape s : CONV) {
                int modes = s.batch() >= 64 ? 3 : fbs.length;
                for (int k = 0; k < modes; k++, v++) {
                    Feedback fb = fbs[v % fbs.length];
                    boolean withY = v % 2 == 0, withDx = v % 3 != 2, withDb = v % 4 != 3;
                    int fanIn = s.inC() * s.kh() * s.kw(), nx = (int) (s.batch() * s.inSize()), ny = (int) (s.batch() * s.outSize());
                    Twin x = t.in(t.activations(nx)), w = t.in(t.gaussian((int) s.weightSize(), 1 / Math.sqrt(fanIn)));
                    Twin dy = t.in(t.gradients(ny, 0.5)), y = withY ? t.in(t.relu(ny)) : null;
                    Twin dx = withDx ? t.out(nx) : null, dw = t.out((int) s.weightSize()), db = withDb ? t.out(s.outC()) : null;
                    t.both((be, S) -> be.conv2dBackward(S.of(dx), S.of(dw), S.of(db), S.of(dy), S.of(y), S.of(x), S.of(w), fb, s));
                    String what = "conv2dBackward " + label(fb)
                            + " " + s + (withY ? " relu" : "");
                    t.assertClose(what + " dW", dw, GEMM_BOUND);
                    if (withDb) t.assertClose(what + " db", db, REDUCE_BOUND);
                    if (withDx) t.assertClose(what + " dx", dx, GEMM_BOUND);
                }
            }
        }
    }

    /** batch, channels, spatial: LeNet's BN layers (conv and fc), odd shapes, a batch of 2. */
    static final int[][] BN = {{64, 6, 784}, {64, 16, 100}, {64, 120, 1}, {37, 5, 13}, {4, 300, 1}, {3, 7, 333}};

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void batchnormForwardTrainingAndEval(String name) {
        try (Twins t = twins(name, "batchnormForward")) {
            for (int[] s : BN) {
                int batch = s[0], ch = s[1], sp = s[2], n = batch * ch * sp;
                for (int variant = 0; variant < 3; variant++) {
                    boolean training = variant < 2, relu = variant != 1;
                    float[] xs = t.gaussian(n, 2);
                    for (int i = 0; i < n; i++) xs[i] += 0.5f;   // a mean away from 0
                    Twin x = t.in(xs), gamma = t.in(t.gaussian(ch, 1)), beta = t.in(t.gaussian(ch, 1));
                    Twin runMean = t.in(t.gaussian(ch, 1));
                    float[] rv = t.gaussian(ch, 1);
                    for (int c = 0; c < ch; c++) rv[c] = 0.5f + Math.abs(rv[c]);
                    Twin runVar = t.in(rv);
                    Twin y = t.out(n), sm = training ? t.out(ch) : null, si = training ? t.out(ch) : null;
                    t.both((be, S) -> be.batchnormForward(S.of(y), S.of(sm), S.of(si), S.of(runMean), S.of(runVar), S.of(x),
                            S.of(gamma), S.of(beta), batch, ch, sp, training, 0.1f, 1e-5f, relu));
                    String what = "batchnormForward " + batch + "x" + ch + "x" + sp + (training ? " train" : " eval") + (relu ? " relu" : "");
                    t.assertClose(what + " y", y, REDUCE_BOUND);
                    t.assertClose(what + " runMean", runMean, REDUCE_BOUND);
                    t.assertClose(what + " runVar", runVar, REDUCE_BOUND);
                    if (training) {
                        t.assertClose(what + " saveMean", sm, REDUCE_BOUND);
                        t.assertClose(what + " saveInvStd", si, REDUCE_BOUND);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void batchnormBackward(String name) {
        try (Twins t = twins(name, "batchnormBackward")) {
            for (int[] s : BN) {
                int batch = s[0], ch = s[1], sp = s[2], n = batch * ch * sp;
                for (boolean withY : new boolean[]{true, false}) {
                    float[] xs = t.gaussian(n, 2);
                    float[] mean = new float[ch], inv = new float[ch];
                    for (int c = 0; c < ch; c++) {     // the statistics the forward pass saved
                        double sum = 0, sq = 0;
                        for (int b = 0; b < batch; b++) for (int k = 0; k < sp; k++) sum += xs[(b * ch + c) * sp + k];
                        double m = sum / (batch * sp);
                        for (int b = 0; b < batch; b++) for (int k = 0; k < sp; k++) { double d = xs[(b * ch + c) * sp + k] - m; sq += d * d; }
                        mean[c] = (float) m;
                        inv[c] = (float) (1 / Math.sqrt(sq / (batch * sp) + 1e-5));
                    }
                    Twin x = t.in(xs), sm = t.in(mean), si = t.in(inv), gamma = t.in(t.gaussian(ch, 1));
                    Twin dy = t.in(t.gradients(n, 0.5)), y = withY ? t.in(t.relu(n)) : null;
                    Twin dx = t.out(n), dg = t.out(ch), dbeta = t.out(ch);
                    t.both((be, S) -> be.batchnormBackward(S.of(dx), S.of(dg), S.of(dbeta), S.of(dy), S.of(y), S.of(x),
                            S.of(sm), S.of(si), S.of(gamma), batch, ch, sp));
                    String what = "batchnormBackward " + batch + "x" + ch + "x" + sp + (withY ? " relu" : "");
                    t.assertClose(what + " dx", dx, REDUCE_BOUND);
                    t.assertClose(what + " dgamma", dg, REDUCE_BOUND);
                    t.assertClose(what + " dbeta", dbeta, REDUCE_BOUND);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void maxpoolForwardAndBackwardWithTies(String name) {
        try (Twins t = twins(name, "maxpool")) {
            int[][] shapes = {{64, 6, 28, 28, 2}, {64, 16, 10, 10, 2}, {3, 4, 11, 9, 3}, {2, 5, 7, 7, 2}, {1, 1, 5, 5, 5}};
            for (int[] s : shapes) {
                int batch = s[0], ch = s[1], h = s[2], w = s[3], k = s[4];
                int n = batch * ch * h * w, m = batch * ch * (h / k) * (w / k);
                for (boolean ties : new boolean[]{false, true}) {
                    float[] xs = t.gaussian(n, 1);
                    if (ties) for (int i = 0; i < n; i++) xs[i] = Math.round(xs[i]);   // many equal maxima
                    Twin x = t.in(xs), y = t.out(m), arg = t.outInt(m);
                    t.both((be, S) -> be.maxpoolForward(S.of(y), S.of(arg), S.of(x), batch, ch, h, w, k));
                    String what = "maxpool " + batch + "x" + ch + "x" + h + "x" + w + "/" + k + (ties ? " ties" : "");
                    t.assertClose(what + " y", y, 0);
                    t.assertEqualInts(what + " argmax", arg);
                    Twin dy = t.in(t.gaussian(m, 1)), dx = t.out(n);
                    t.both((be, S) -> be.maxpoolBackward(S.of(dx), S.of(dy), S.of(arg), batch, ch, h, w, k));
                    t.assertClose(what + " backward dx", dx, 0);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void softmaxCrossEntropy(String name) {
        try (Twins t = twins(name, "softmaxCrossEntropy")) {
            int[][] shapes = {{64, 10}, {37, 13}, {300, 100}, {1, 2}, {513, 10}};
            for (int[] s : shapes) {
                int batch = s[0], classes = s[1];
                float[] l = t.gaussian(batch * classes, 3);
                for (int i = 0; i < classes; i++) l[i] += 80f;       // large logits: needs the stable form
                int[] lab = new int[batch];
                for (int b = 0; b < batch; b++) lab[b] = t.rnd.nextInt(classes);
                Twin logits = t.in(l), labels = t.in(lab), dl = t.out(batch * classes), stats = t.out(2);
                t.both((be, S) -> be.softmaxCrossEntropy(S.of(dl), S.of(stats), S.of(logits), S.of(labels), batch, classes));
                String what = "softmaxCrossEntropy " + batch + "x" + classes;
                t.assertClose(what + " dlogits", dl, REDUCE_BOUND);
                float[] a = t.download(stats, true), b = t.download(stats, false);
                // −log softmax = lse − z_label cancels when one class dominates: each sample's loss carries
                // an absolute rounding error of order ulp(max |logit|), however small the loss itself is.
                double cancel = 0;
                for (int b0 = 0; b0 < batch; b0++) {
                    float mx = 0;
                    for (int c = 0; c < classes; c++) mx = Math.max(mx, Math.abs(l[b0 * classes + c]));
                    cancel += Math.ulp(mx);
                }
                double lossErr = Math.abs((double) a[0] - b[0]), lossTol = REDUCE_BOUND * Math.abs(b[0]) + cancel;
                System.out.printf("  %-58s abs err %.2e (bound %.2e)%n", what + " loss sum", lossErr, lossTol);
                assertTrue(lossErr <= lossTol, what + " loss sum: " + a[0] + ", oracle " + b[0] + ": |error| "
                        + lossErr + " > " + REDUCE_BOUND + "·|oracle| + Σ ulp(max |logit|) = " + lossTol);
                assertEquals(b[1], a[1], what + ": error count");
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void applyUpdateSgdAndBatchManhattan(String name) {
        try (Twins t = twins(name, "applyUpdate")) {
            for (int n : new int[]{61_706, 12_345, 1}) {
                for (UpdateRule rule : UpdateRule.values()) {
                    for (boolean first : new boolean[]{true, false}) {
                        float[] g = t.gaussian(n, 0.01);
                        for (int i = 0; i < n; i += 7) g[i] = 0f;         // sign(0) = 0
                        if (n > 1) g[1] = -0f;
                        Twin params = t.in(t.gaussian(n, 0.1)), vel = t.in(t.gaussian(n, 0.01)), grads = t.in(g);
                        float lr = rule == UpdateRule.BM ? 1e-4f : 0.05f;
                        t.both((be, S) -> be.applyUpdate(S.of(params), S.of(vel), S.of(grads), rule, lr, 0.9f, 1e-3f, first));
                        String what = "applyUpdate " + rule.cliName() + " n=" + n + (first ? " first" : "");
                        t.assertClose(what + " params", params, EXACT_BOUND);
                        t.assertClose(what + " velocity", vel, EXACT_BOUND);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}") @MethodSource("backends")
    void copyFillAndViews(String name) {
        try (Twins t = twins(name, "memory")) {
            float[] v = t.gaussian(1000, 1);
            Twin a = t.in(v), b = t.out(1000);
            t.both((be, S) -> be.copy(S.of(b).slice(10, 500), S.of(a).slice(100, 500)));
            t.both((be, S) -> be.fill(S.of(b).slice(0, 10), 2.5f));
            t.both((be, S) -> be.fill(S.of(b).slice(510, 490), -1f));
            t.assertClose("copy/fill of views", b, 0);
            float[] got = t.download(b, true);
            assertEquals(v[100], got[10]);
            assertEquals(2.5f, got[9]);
            assertEquals(-1f, got[999]);
        }
    }
}
