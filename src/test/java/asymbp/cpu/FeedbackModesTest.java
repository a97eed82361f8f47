package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.rng.Philox;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * For every feedback mode, the backward's dx equals the bp backward run with W replaced by a V that
 * this test builds on its own from docs/spec.md §3 (Philox called directly, not {@link Feedback#v}), and
 * dW, db are those of bp: W's gradient never uses V.
 */
class FeedbackModesTest {
    private static CpuBackend be;

    @BeforeAll static void open() { be = new CpuBackend(); }
    @AfterAll static void close() { be.close(); }

    /** docs/spec.md §3, element by element. */
    static float[] buildV(Feedback fb, float[] w) {
        float[] v = new float[w.length];
        float s = fb.scale();
        int magStep = fb.mode() == FeedbackMode.BRSF ? fb.step() : 0;
        for (int i = 0; i < w.length; i++) {
            float sign = w[i] > 0 ? 1f : w[i] < 0 ? -1f : 0f;
            float m = fb.halfNormal()
                    ? Math.abs(Philox.normal(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), magStep, i))
                    : Philox.uniform(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), magStep, i);
            switch (fb.mode()) {
                case BP: v[i] = w[i]; break;
                case USF: v[i] = s * sign; break;
                case BRSF: case FRSF: v[i] = s * m * sign; break;
                case FA: v[i] = fb.uniformB()   // U(−σ, σ): σ·(2u − 1)
                        ? fb.sigma() * (2f * Philox.uniform(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), 0, i) - 1f)
                        : fb.sigma() * Philox.normal(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), 0, i);
                    break;
                case PSF: {
                    float u = Philox.uniform(fb.seed(), Philox.PURPOSE_FEEDBACK_FLIP, fb.layer(), 0, i);
                    v[i] = s * m * (u < fb.p() ? sign : -sign);
                    break;
                }
                default: throw new AssertionError(fb.mode());
            }
        }
        return v;
    }

    /** The three gradients of one backward. */
    record Grads(float[] dx, float[] dw, float[] db) {}

    interface Backward { Grads run(float[] w, Feedback fb); }

    private static Feedback mode(FeedbackMode m, float p, boolean halfNormal, SplittableRandom r, int step) {
        return mode(m, p, halfNormal, r, step, false);
    }

    private static Feedback mode(FeedbackMode m, float p, boolean halfNormal, SplittableRandom r, int step, boolean uniformB) {
        return new Feedback(m, 0.5f + (float) r.nextDouble(), p, 0.05f + 0.2f * (float) r.nextDouble(), halfNormal,
                r.nextLong(), r.nextInt(6), step, uniformB);
    }

    /** The per-layer modes (dfa is made of fa feedbacks). */
    static final FeedbackMode[] LAYER_MODES = FeedbackMode.kernelModes();

    private void allModes(String what, float[] w, Backward back, SplittableRandom r) {
        Grads bp = back.run(w, Feedback.bp());
        for (FeedbackMode m : LAYER_MODES)
            for (float p : m == FeedbackMode.PSF ? new float[] {0f, 0.25f, 0.5f, 1f} : new float[] {1f})
                for (int flags = 0; flags < (m == FeedbackMode.FA ? 4 : 2); flags++) {
                    boolean half = (flags & Feedback.FLAG_HALF_NORMAL) != 0;
                    Feedback fb = mode(m, p, half, r, r.nextInt(1000), (flags & Feedback.FLAG_UNIFORM_B) != 0);
                    Grads got = back.run(w, fb);
                    float[] v = buildV(fb, w);
                    Grads want = back.run(v, Feedback.bp());
                    String label = what + " " + fb;
                    double err = CpuTestSupport.maxRelError(got.dx(), want.dx(), 1e-3 * CpuTestSupport.maxAbs(want.dx()) + 1e-30);
                    assertTrue(err < 1e-5, label + ": dx differs from bp with V = V(W), max rel err " + err);
                    assertArrayEquals(bp.dw(), got.dw(), label + ": dW changed by the mode");
                    assertArrayEquals(bp.db(), got.db(), label + ": db changed by the mode");
                }
        // brsf redraws M every step: two steps give two different V (and dx).
        Feedback s1 = mode(FeedbackMode.BRSF, 1f, false, r, 3), s2 = s1.atStep(4);
        float[] dx1 = back.run(w, s1).dx(), dx2 = back.run(w, s2).dx();
        double diff = CpuTestSupport.maxRelError(dx1, dx2, 1e-6);
        assertTrue(diff > 1e-2, what + ": brsf steps 3 and 4 gave the same dx");
        // frsf draws M once: the step does not matter.
        Feedback f1 = mode(FeedbackMode.FRSF, 1f, false, r, 3);
        assertArrayEquals(back.run(w, f1).dx(), back.run(w, f1.atStep(77)).dx(), what + ": frsf depends on the step");
        // psf: p = 1 is frsf exactly; p = 0 flips every sign (dx is exactly frsf's negated).
        Feedback psf1 = new Feedback(FeedbackMode.PSF, f1.scale(), 1f, 0f, false, f1.seed(), f1.layer(), 0);
        Feedback psf0 = new Feedback(FeedbackMode.PSF, f1.scale(), 0f, 0f, false, f1.seed(), f1.layer(), 0);
        float[] frsf = back.run(w, f1).dx(), p1 = back.run(w, psf1).dx(), p0 = back.run(w, psf0).dx();
        assertArrayEquals(frsf, p1, what + ": psf p=1 differs from frsf");
        for (int i = 0; i < frsf.length; i++)
            assertTrue(p0[i] == -frsf[i], what + ": psf p=0 is not frsf with every sign flipped at dx[" + i + "]");
        float[] v0 = buildV(psf0, w);
        for (int i = 0; i < w.length; i++)
            assertTrue(Math.signum(v0[i]) == -Math.signum(w[i]), "psf p=0 V sign at " + i);
    }

    @Test
    void faUniformBIsUniformOnPlusMinusSigma() {
        SplittableRandom r = CpuTestSupport.random("FeedbackModesTest.uniformB");
        Feedback fb = new Feedback(FeedbackMode.FA, 1f, 1f, 0.25f, false, r.nextLong(), r.nextInt(6), 0, true);
        int n = 20000;
        double sum = 0, sq = 0, lo = 1, hi = -1;
        for (int i = 0; i < n; i++) {
            float v = fb.v(r.nextBoolean() ? 1f : -1f, i);   // W's value does not matter
            sum += v; sq += (double) v * v; lo = Math.min(lo, v); hi = Math.max(hi, v);
        }
        assertTrue(lo >= -0.25 && hi < 0.25 && lo < -0.24 && hi > 0.24, "range " + lo + " .. " + hi);
        assertTrue(Math.abs(sum / n) < 0.01, "mean " + sum / n);
        double var = sq / n, want = 0.25 * 0.25 / 3;
        assertTrue(Math.abs(var - want) < 0.05 * want, "variance " + var + ", U(−σ, σ) has " + want);
    }

    /** dfa's projection dx = e·B: against e times a B built here from Philox (buildV), for fa's normal and uniform B. */
    @Test
    void feedbackProject() {
        SplittableRandom r = CpuTestSupport.random("FeedbackModesTest.project");
        int batch = 1 + r.nextInt(40), classes = 2 + r.nextInt(12), features = 1 + r.nextInt(300);
        float[] e = CpuTestSupport.uniform(r, batch * classes, -1, 1);
        for (boolean uniform : new boolean[] {false, true}) {
            Feedback fb = new Feedback(FeedbackMode.FA, 1f, 1f, 0.01f + (float) r.nextDouble(), false, r.nextLong(),
                    r.nextInt(6), 0, uniform);
            float[] b = buildV(fb, new float[classes * features]);
            double[] want = new double[batch * features];
            for (int i = 0; i < batch; i++)
                for (int j = 0; j < features; j++)
                    for (int k = 0; k < classes; k++) want[i * features + j] += (double) e[i * classes + k] * b[k * features + j];
            Buffer dx = CpuTestSupport.poisoned(be, batch * features, r);
            be.feedbackProject(dx, CpuTestSupport.upload(be, e, r), fb, batch, classes, features);
            float[] got = CpuTestSupport.download(be, dx);
            double worst = 0, scale = 0;
            for (double v : want) scale = Math.max(scale, Math.abs(v));
            for (int i = 0; i < got.length; i++)
                worst = Math.max(worst, Math.abs(got[i] - want[i]) / (Math.abs(want[i]) + 1e-3 * scale + 1e-30));
            assertTrue(worst < 1e-4, batch + "x" + classes + "->" + features + " " + fb + ": max rel err " + worst);
        }
    }

    @Test
    void linearModes() {
        SplittableRandom r = CpuTestSupport.random("FeedbackModesTest.linear");
        int batch = 3 + r.nextInt(9), in = 5 + r.nextInt(70), out = 3 + r.nextInt(40);
        float[] x = CpuTestSupport.uniform(r, batch * in, -1, 1), w = CpuTestSupport.uniform(r, out * in, -1, 1);
        w[0] = 0f;   // sign(0) = 0
        float[] dy = CpuTestSupport.uniform(r, batch * out, -1, 1), y = CpuTestSupport.uniform(r, batch * out, -1, 1);
        allModes("linear " + batch + "x" + in + "->" + out, w, (ww, fb) -> {
            Buffer dx = CpuTestSupport.poisoned(be, batch * in, r), dw = CpuTestSupport.poisoned(be, out * in, r),
                    db = CpuTestSupport.poisoned(be, out, r);
            be.linearBackward(dx, dw, db, CpuTestSupport.upload(be, dy, r), CpuTestSupport.upload(be, y, r),
                    CpuTestSupport.upload(be, x, r), CpuTestSupport.upload(be, ww, r), fb, batch, in, out);
            return new Grads(CpuTestSupport.download(be, dx), CpuTestSupport.download(be, dw), CpuTestSupport.download(be, db));
        }, r);
    }

    @Test
    void convModes() {
        SplittableRandom r = CpuTestSupport.random("FeedbackModesTest.conv");
        ConvShape s = new ConvShape(2 + r.nextInt(3), 3, 9, 8, 5, 5, 5, 1 + r.nextInt(2), 2 * r.nextInt(2));
        int xn = (int) (s.batch() * s.inSize()), yn = (int) (s.batch() * s.outSize()), wn = (int) s.weightSize();
        float[] x = CpuTestSupport.uniform(r, xn, -1, 1), w = CpuTestSupport.uniform(r, wn, -1, 1);
        w[1] = -0f;
        float[] dy = CpuTestSupport.uniform(r, yn, -1, 1), y = CpuTestSupport.uniform(r, yn, -1, 1);
        allModes("conv " + s, w, (ww, fb) -> {
            Buffer dx = CpuTestSupport.poisoned(be, xn, r), dw = CpuTestSupport.poisoned(be, wn, r),
                    db = CpuTestSupport.poisoned(be, s.outC(), r);
            be.conv2dBackward(dx, dw, db, CpuTestSupport.upload(be, dy, r), CpuTestSupport.upload(be, y, r),
                    CpuTestSupport.upload(be, x, r), CpuTestSupport.upload(be, ww, r), fb, s);
            return new Grads(CpuTestSupport.download(be, dx), CpuTestSupport.download(be, dw), CpuTestSupport.download(be, db));
        }, r);
    }
}
