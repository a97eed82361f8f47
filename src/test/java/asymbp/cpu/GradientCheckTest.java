package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every backward op in mode bp against double-precision central differences of the scalar loss
 * L = Σ r·y (r random), computed through the op itself. The difference L(θ+h) − L(θ−h) is summed as
 * Σ r·(y⁺ − y⁻) in double, so outputs the perturbation does not touch cancel exactly and only the
 * touched outputs' float32 rounding remains. Where a ReLU or max-pool switches inside ±h (a kink),
 * that coordinate is skipped; too many skips fail the test.
 *
 * <p>Bound: for each checked coordinate, |numeric − analytic| ≤ TOL · max(|analytic|, 0.05·max|analytic|)
 * with TOL = 5e-3 (piecewise-linear ops are exact up to rounding; smooth ops add O(h²) truncation).
 */
class GradientCheckTest {
    private static final double TOL = 5e-3;
    private static final int MAX_COORDS = 48;
    /**
     * Steps, relative to max(1,|θ|). Linear and convolution layers are exactly linear in each argument, so
     * without ReLU a large step has no truncation error and the least rounding noise; with ReLU a small
     * step keeps kinks rare. Smooth ops (BN, softmax) balance O(h²) truncation against rounding.
     */
    private static final double H_LINEAR = 0.25, H_RELU = 1e-2, H_SMOOTH = 1e-2;
    /**
     * With a fused ReLU, outputs whose pre-activation lies within MARGIN of the kink get r = 0 (they drop
     * out of L and of the backward's dy), and steps stay small enough (|Δ pre-activation| ≲ h·2) that the
     * outputs that count never cross it. A crossing that happens anyway is detected and skipped.
     */
    private static final double MARGIN = 0.1;

    private static CpuBackend be;

    @BeforeAll static void open() { be = new CpuBackend(); }
    @AfterAll static void close() { be.close(); }

    /** One forward evaluation: the output and a pattern (ReLU mask, argmax) whose change marks a kink. */
    record Out(float[] y, int[] pattern) {}

    interface Forward { Out run(float[][] in); }

    // ------------------------------------------------------------------ linear

    @Test
    void linear() {
        SplittableRandom r = CpuTestSupport.random("GradientCheckTest.linear");
        for (boolean bias : new boolean[] {true, false})
            for (boolean relu : new boolean[] {false, true}) {
                int batch = 1 + r.nextInt(6), in = 1 + r.nextInt(40), out = 1 + r.nextInt(40);
                float[] x = CpuTestSupport.uniform(r, batch * in, -1, 1);
                float[] w = CpuTestSupport.uniform(r, out * in, -1, 1);
                float[] b = CpuTestSupport.uniform(r, out, -1, 1);
                float[] rr = CpuTestSupport.uniform(r, batch * out, -1, 1);
                Forward f = v -> {
                    Buffer y = CpuTestSupport.poisoned(be, batch * out, r);
                    be.linearForward(y, CpuTestSupport.upload(be, v[0], r), CpuTestSupport.upload(be, v[1], r),
                            bias ? CpuTestSupport.upload(be, v[2], r) : null, batch, in, out, relu);
                    float[] ys = CpuTestSupport.download(be, y);
                    return new Out(ys, reluPattern(ys, relu));
                };
                float[] y = f.run(new float[][] {x, w, b}).y();
                if (relu) {
                    Buffer pre = be.alloc(DType.F32, batch * out);
                    be.linearForward(pre, CpuTestSupport.upload(be, x, r), CpuTestSupport.upload(be, w, r),
                            bias ? CpuTestSupport.upload(be, b, r) : null, batch, in, out, false);
                    awayFromKinks(rr, CpuTestSupport.download(be, pre));
                }
                Buffer dx = CpuTestSupport.poisoned(be, batch * in, r), dw = CpuTestSupport.poisoned(be, out * in, r);
                Buffer db = bias ? CpuTestSupport.poisoned(be, out, r) : null;
                be.linearBackward(dx, dw, db, CpuTestSupport.upload(be, rr, r), relu ? CpuTestSupport.upload(be, y, r) : null,
                        CpuTestSupport.upload(be, x, r), CpuTestSupport.upload(be, w, r), Feedback.bp(), batch, in, out);
                String name = String.format("linear %dx%d->%d bias=%b relu=%b", batch, in, out, bias, relu);
                checkInputWeightBias(name, f, new float[][] {x, w, b}, dx, dw, db, rr, relu, r);
            }
    }

    // ------------------------------------------------------------------ conv2d

    @Test
    void conv2d() {
        SplittableRandom r = CpuTestSupport.random("GradientCheckTest.conv2d");
        // batch, inC, inH, inW, outC, kh, kw, stride, pad: odd sizes, stride 1 and 2, padding 0 and 2
        ConvShape[] shapes = {
                new ConvShape(2, 3, 7, 9, 5, 3, 3, 1, 0),
                new ConvShape(2, 2, 9, 7, 3, 5, 5, 1, 2),
                new ConvShape(3, 3, 8, 11, 4, 3, 2, 2, 0),
                new ConvShape(2, 1, 7, 7, 6, 5, 5, 2, 2),
                new ConvShape(1, 2, 8, 7, 4, 3, 3, 1, 1),   // batch 1: fewer images than threads
        };
        for (ConvShape s : shapes)
            for (boolean relu : new boolean[] {false, true}) {
                boolean bias = !relu || r.nextBoolean();
                int xn = (int) (s.batch() * s.inSize()), yn = (int) (s.batch() * s.outSize()), wn = (int) s.weightSize();
                float[] x = CpuTestSupport.uniform(r, xn, -1, 1);
                float[] w = CpuTestSupport.uniform(r, wn, -1, 1);
                float[] b = CpuTestSupport.uniform(r, s.outC(), -1, 1);
                float[] rr = CpuTestSupport.uniform(r, yn, -1, 1);
                Forward f = v -> {
                    Buffer y = CpuTestSupport.poisoned(be, yn, r);
                    be.conv2dForward(y, CpuTestSupport.upload(be, v[0], r), CpuTestSupport.upload(be, v[1], r),
                            bias ? CpuTestSupport.upload(be, v[2], r) : null, s, relu);
                    float[] ys = CpuTestSupport.download(be, y);
                    return new Out(ys, reluPattern(ys, relu));
                };
                float[] y = f.run(new float[][] {x, w, b}).y();
                if (relu) {
                    Buffer pre = be.alloc(DType.F32, yn);
                    be.conv2dForward(pre, CpuTestSupport.upload(be, x, r), CpuTestSupport.upload(be, w, r),
                            bias ? CpuTestSupport.upload(be, b, r) : null, s, false);
                    awayFromKinks(rr, CpuTestSupport.download(be, pre));
                }
                Buffer dx = CpuTestSupport.poisoned(be, xn, r), dw = CpuTestSupport.poisoned(be, wn, r);
                Buffer db = bias ? CpuTestSupport.poisoned(be, s.outC(), r) : null;
                be.conv2dBackward(dx, dw, db, CpuTestSupport.upload(be, rr, r), relu ? CpuTestSupport.upload(be, y, r) : null,
                        CpuTestSupport.upload(be, x, r), CpuTestSupport.upload(be, w, r), Feedback.bp(), s);
                String name = "conv " + s + " bias=" + bias + " relu=" + relu;
                checkInputWeightBias(name, f, new float[][] {x, w, b}, dx, dw, db, rr, relu, r);
            }
    }

    // ------------------------------------------------------------------ batch norm

    @Test
    void batchnorm() {
        SplittableRandom r = CpuTestSupport.random("GradientCheckTest.batchnorm");
        for (int spatial : new int[] {1, 7})
            for (boolean relu : new boolean[] {false, true}) {
                // batch ≥ 4: with two values per channel the normalised output is ±1 whatever x, and dx vanishes
                int batch = 4 + r.nextInt(4), channels = 1 + r.nextInt(5), n = batch * channels * spatial;
                float[] x = CpuTestSupport.uniform(r, n, -2, 2);
                float[] gamma = CpuTestSupport.uniform(r, channels, 0.5, 1.5);
                float[] beta = CpuTestSupport.uniform(r, channels, -0.5, 0.5);
                float[] rr = CpuTestSupport.uniform(r, n, -1, 1);
                Buffer mean = be.alloc(DType.F32, channels), invStd = be.alloc(DType.F32, channels);
                Forward f = v -> {
                    Buffer y = CpuTestSupport.poisoned(be, n, r);
                    Buffer rm = be.alloc(DType.F32, channels), rv = be.alloc(DType.F32, channels);
                    be.fill(rm, 0f);
                    be.fill(rv, 1f);
                    be.batchnormForward(y, mean, invStd, rm, rv, CpuTestSupport.upload(be, v[0], r),
                            CpuTestSupport.upload(be, v[1], r), CpuTestSupport.upload(be, v[2], r),
                            batch, channels, spatial, true, 0.1f, 1e-5f, relu);
                    float[] ys = CpuTestSupport.download(be, y);
                    return new Out(ys, reluPattern(ys, relu));
                };
                if (relu) {
                    Buffer pre = be.alloc(DType.F32, n), rm = be.alloc(DType.F32, channels), rv = be.alloc(DType.F32, channels);
                    be.batchnormForward(pre, mean, invStd, rm, rv, CpuTestSupport.upload(be, x, r),
                            CpuTestSupport.upload(be, gamma, r), CpuTestSupport.upload(be, beta, r),
                            batch, channels, spatial, true, 0.1f, 1e-5f, false);
                    awayFromKinks(rr, CpuTestSupport.download(be, pre));
                }
                float[] y = f.run(new float[][] {x, gamma, beta}).y();   // leaves mean/invStd of x saved
                Buffer dx = CpuTestSupport.poisoned(be, n, r), dg = CpuTestSupport.poisoned(be, channels, r),
                        dbeta = CpuTestSupport.poisoned(be, channels, r);
                be.batchnormBackward(dx, dg, dbeta, CpuTestSupport.upload(be, rr, r), relu ? CpuTestSupport.upload(be, y, r) : null,
                        CpuTestSupport.upload(be, x, r), mean, invStd, CpuTestSupport.upload(be, gamma, r), batch, channels, spatial);
                String name = String.format("batchnorm %dx%dx%d relu=%b", batch, channels, spatial, relu);
                float[][] inputs = {x, gamma, beta};
                check(name + " dx", f, inputs, 0, CpuTestSupport.download(be, dx), rr, H_SMOOTH, r);
                check(name + " dgamma", f, inputs, 1, CpuTestSupport.download(be, dg), rr, H_SMOOTH, r);
                check(name + " dbeta", f, inputs, 2, CpuTestSupport.download(be, dbeta), rr, H_SMOOTH, r);
            }
    }

    // ------------------------------------------------------------------ max-pool

    @Test
    void maxpool() {
        SplittableRandom r = CpuTestSupport.random("GradientCheckTest.maxpool");
        for (int k : new int[] {2, 3}) {
            int batch = 2, channels = 3, h = 7 + r.nextInt(3), w = 6 + r.nextInt(4);
            int oh = h / k, ow = w / k, xn = batch * channels * h * w, yn = batch * channels * oh * ow;
            float[] x = CpuTestSupport.uniform(r, xn, -1, 1);
            float[] rr = CpuTestSupport.uniform(r, yn, -1, 1);
            Forward f = v -> {
                Buffer y = CpuTestSupport.poisoned(be, yn, r), am = be.alloc(DType.I32, yn);
                be.maxpoolForward(y, am, CpuTestSupport.upload(be, v[0], r), batch, channels, h, w, k);
                return new Out(CpuTestSupport.download(be, y), CpuTestSupport.downloadInts(be, am));
            };
            Buffer y = be.alloc(DType.F32, yn), am = be.alloc(DType.I32, yn);
            be.maxpoolForward(y, am, CpuTestSupport.upload(be, x, r), batch, channels, h, w, k);
            Buffer dx = CpuTestSupport.poisoned(be, xn, r);
            be.maxpoolBackward(dx, CpuTestSupport.upload(be, rr, r), am, batch, channels, h, w, k);
            check("maxpool k=" + k + " " + h + "x" + w, f, new float[][] {x}, 0, CpuTestSupport.download(be, dx), rr, H_SMOOTH, r);
        }
    }

    // ------------------------------------------------------------------ softmax cross-entropy

    @Test
    void softmaxCrossEntropy() {
        SplittableRandom r = CpuTestSupport.random("GradientCheckTest.softmax");
        int batch = 1 + r.nextInt(7), classes = 2 + r.nextInt(12);
        float[] z = CpuTestSupport.uniform(r, batch * classes, -3, 3);
        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++) labels[b] = r.nextInt(classes);
        Buffer lab = CpuTestSupport.uploadInts(be, labels);
        // The loss is the batch mean: stats[0] / batch; as an "output" of length 1 with r = 1/batch.
        Forward f = v -> {
            Buffer d = be.alloc(DType.F32, batch * classes), stats = CpuTestSupport.poisoned(be, 2, r);
            be.softmaxCrossEntropy(d, stats, CpuTestSupport.upload(be, v[0], r), lab, batch, classes);
            return new Out(new float[] {CpuTestSupport.download(be, stats)[0]}, new int[0]);
        };
        Buffer d = CpuTestSupport.poisoned(be, batch * classes, r), stats = CpuTestSupport.poisoned(be, 2, r);
        be.softmaxCrossEntropy(d, stats, CpuTestSupport.upload(be, z, r), lab, batch, classes);
        check("softmaxCE " + batch + "x" + classes, f, new float[][] {z}, 0, CpuTestSupport.download(be, d),
                new float[] {1f / batch}, H_SMOOTH, r);
    }

    // ------------------------------------------------------------------ the check

    /** r = 0 where the pre-activation is within MARGIN of the ReLU's kink. */
    private static void awayFromKinks(float[] rr, float[] pre) {
        for (int i = 0; i < rr.length; i++) if (Math.abs(pre[i]) < MARGIN) rr[i] = 0f;
    }

    /** Whether the patterns differ at an output that counts (r ≠ 0); patterns not per output must match whole. */
    private static boolean kinked(int[] base, int[] other, float[] rr) {
        if (base.length != rr.length) return !Arrays.equals(base, other);
        for (int i = 0; i < base.length; i++) if (rr[i] != 0f && base[i] != other[i]) return true;
        return false;
    }

    private static int[] reluPattern(float[] y, boolean relu) {
        if (!relu) return new int[0];
        int[] p = new int[y.length];
        for (int i = 0; i < y.length; i++) p[i] = y[i] > 0 ? 1 : 0;
        return p;
    }

    /**
     * Compares analytic[i] with (L(in[which]+h·e_i) − L(in[which]−h·e_i)) / 2h over up to MAX_COORDS
     * random coordinates i, L = Σ r·y, h scaled by the coordinate's size.
     */
    /** dx, dW and (when present) db of a product layer against finite differences of its forward. */
    private void checkInputWeightBias(String name, Forward f, float[][] inputs, Buffer dx, Buffer dw, Buffer db,
                                      float[] rr, boolean relu, SplittableRandom r) {
        double h = relu ? H_RELU : H_LINEAR;
        check(name + " dx", f, inputs, 0, CpuTestSupport.download(be, dx), rr, h, r);
        check(name + " dW", f, inputs, 1, CpuTestSupport.download(be, dw), rr, h, r);
        if (db != null) check(name + " db", f, inputs, 2, CpuTestSupport.download(be, db), rr, h, r);
    }

    private static void check(String name, Forward f, float[][] inputs, int which, float[] analytic, float[] rr,
                              double hRel, SplittableRandom rnd) {
        float[] theta = inputs[which];
        int[] base = f.run(inputs).pattern();
        int[] coords = new int[theta.length];
        for (int i = 0; i < coords.length; i++) coords[i] = i;
        for (int i = coords.length - 1; i > 0; i--) { int j = rnd.nextInt(i + 1), t = coords[i]; coords[i] = coords[j]; coords[j] = t; }
        int count = Math.min(MAX_COORDS, coords.length), skipped = 0;
        double maxAna = CpuTestSupport.maxAbs(analytic), worst = 0;
        assertTrue(Double.isFinite(maxAna), name + ": analytic gradient has NaN/Inf: " + Arrays.toString(analytic));
        String worstAt = "";
        for (int c = 0; c < count; c++) {
            int i = coords[c];
            float orig = theta[i];
            float h = (float) (hRel * Math.max(1.0, Math.abs(orig)));
            float[][] plus = inputs.clone(), minus = inputs.clone();
            plus[which] = theta.clone();
            minus[which] = theta.clone();
            plus[which][i] = orig + h;
            minus[which][i] = orig - h;
            double hEff = ((double) plus[which][i] - minus[which][i]) / 2;   // the step actually taken in float
            Out up = f.run(plus), down = f.run(minus);
            if (kinked(base, up.pattern(), rr) || kinked(base, down.pattern(), rr)) { skipped++; continue; }
            double diff = 0;
            for (int o = 0; o < up.y().length; o++) diff += rr[o] * ((double) up.y()[o] - down.y()[o]);
            double numeric = diff / (2 * hEff);
            double err = Math.abs(numeric - analytic[i]) / Math.max(Math.abs(analytic[i]), 0.05 * maxAna + 1e-12);
            if (!(err <= worst)) { worst = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err; worstAt = i + ": numeric " + numeric + " analytic " + analytic[i]; }
        }
        System.out.printf("  %-60s %3d coords, %d kinks skipped, max rel err %.2e%n", name, count, skipped, worst);
        assertTrue(skipped <= count / 8, name + ": " + skipped + " of " + count + " coordinates straddled a kink");
        assertTrue(worst < TOL, name + ": max relative error " + worst + " at " + worstAt);
    }
}
