package asymbp.train;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.model.ParamLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Locale;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Whole-network finite-difference check in bp mode: the engine's forward, loss and backward (BN, pool,
 * ReLU fusion, flat buffers, offsets) must give the true gradient of the batch's mean loss.
 */
class GradientCheckTest {

    @ParameterizedTest(name = "{0} {1} bn={2}")
    @CsvSource({
            "reference, mlp:7-5, false",
            "reference, mlp:7-5, true",
            "reference, lenet, false",
            "reference, lenet, true",
            "cpu, mlp:7-5, false",
            "cpu, mlp:7-5, true",
            "cpu, lenet, false",
            "cpu, lenet, true"})
    void bpGradientMatchesFiniteDifferences(String backend, String model, boolean bn) {
        long seed = seed();
        System.out.println("GradientCheckTest " + backend + " " + model + " bn=" + bn + " seed " + seed
                + " (replay with -Dasymbp.seed=" + seed + ")");
        FdResult r = finiteDifferenceCheck(backend, model, bn, seed);
        System.out.println("  " + r.summary());
        assertTrue(r.bad() == 0, r.bad() + " of " + r.checked() + " gradients disagree with finite differences" + r.report());
    }

    static final int SAMPLES_PER_TENSOR = 6;
    static final float STEP = 1e-3f;

    /** Samples checked, how many of them crossed a kink (held by the freeze), and the disagreements. */
    record FdResult(int checked, int crossed, int bad, double worst, String report) {
        String summary() {
            return String.format(Locale.ROOT, "checked %d parameters (%d would have crossed a ReLU or max-pool kink), "
                    + "%d off, worst error %.3f of the tolerance%s", checked, crossed, bad, worst, report);
        }
    }

    /**
     * Central differences of the batch loss against the backward at random parameters of every tensor.
     * The loss is only piecewise smooth (ReLU, max-pool), and a first-layer weight or BN parameter feeds
     * thousands of units: a step of 1e-3 usually moves some across a kink, often on both sides, which
     * can bias the difference by 10% while the two one-sided quotients still agree. Steps small enough
     * to avoid the kinks (~1e-5) drown in the float32 loss's rounding (~6e-8 on cpu). So the differences
     * are taken on the smooth piece the parameters lie on, continued past its kinks: {@link FrozenKinks}
     * records every ReLU and max-pool decision of the forward at p and replays them at p ± h. That
     * continuation equals the loss at p, and its derivative there is the gradient backward must give,
     * so every sample is checked, with rounding error ~4e-5 and O(h²) truncation.
     */
    static FdResult finiteDifferenceCheck(String backend, String model, boolean bn, long seed) {
        boolean conv = model.equals("lenet");
        Dataset d = conv ? Synthetic.dataset(1, 16, 16, 4, 12, 2, seed) : Synthetic.dataset(1, 4, 4, 3, 8, 2, seed);
        TrainConfig cfg = TrainConfig.defaults().withModel(model).withBn(bn).withFeedback("bp")
                .withBatch(d.trainCount()).withSeed(seed).withQuiet(true);
        try (FrozenKinks be = new FrozenKinks(TestBackends.open(backend)); Trainer t = new Trainer(be, d, cfg)) {
            float[] p = t.parameters();
            // Move BN's γ, β off 1 and 0 so their gradients are generic.
            Random rnd = new Random(seed);
            for (ParamLayout.Entry e : t.net().params().entries())
                if (e.name().startsWith("bn"))
                    for (int i = 0; i < e.size(); i++) p[(int) (e.offset() + i)] += (float) (0.3 * rnd.nextGaussian());
            t.setParameters(p);
            be.record();
            float loss = t.lossAndGradients();
            float[] g = t.gradients();
            be.freeze();
            // Replaying the decisions at p must give the loss of the real forward (fused ReLU, the
            // backend's own max-pool): otherwise the ops disagree with the decisions backward used.
            float replayed = t.batchLoss();
            assertEquals(loss, replayed, 1e-6f * Math.max(1f, Math.abs(loss)), "loss with the decisions replayed at p");
            int checked = 0, crossed = 0, bad = 0;
            double worst = 0;
            StringBuilder report = new StringBuilder();
            for (ParamLayout.Entry e : t.net().params().entries()) {
                // A tensor of at most SAMPLES_PER_TENSOR elements (a small BN's γ, β) is checked whole.
                boolean whole = e.size() <= SAMPLES_PER_TENSOR;
                for (int k = 0; k < (whole ? e.size() : SAMPLES_PER_TENSOR); k++) {
                    int i = (int) (e.offset() + (whole ? k : rnd.nextInt((int) e.size())));
                    long before = be.crossings();
                    double fd = centralDifference(t, p, i, STEP * Math.max(1f, Math.abs(p[i])));
                    if (be.crossings() > before) crossed++;
                    checked++;
                    // A third of the tolerance the check had when kinks could bias it; differences on the
                    // smooth piece stayed within a fifth of this one (300 seeds per case, cpu and reference).
                    double tol = 1e-3 + 1e-2 * Math.max(Math.abs(fd), Math.abs(g[i]));
                    worst = Math.max(worst, Math.abs(fd - g[i]) / tol);
                    if (Math.abs(fd - g[i]) > tol) {
                        bad++;
                        report.append(String.format(Locale.ROOT, "%n  %s[%d]: backward %.6g, finite difference %.6g",
                                e.name(), i - e.offset(), g[i], fd));
                    }
                }
            }
            return new FdResult(checked, crossed, bad, worst, report.toString());
        }
    }

    /**
     * The cpu backend's whole-network gradient (every parameter, asymmetric feedback included) equals
     * the plain reference's on the same batch and parameters, for every feedback mode.
     */
    @ParameterizedTest(name = "{0} {1} bn={2}")
    @CsvSource({
            "lenet, bp, true", "lenet, usf, true", "lenet, brsf, true", "lenet, frsf, false",
            "lenet, fa, true", "lenet, psf:0.3, false", "mlp:9-7, brsf, true", "mlp:9-7, fa, false"})
    void cpuGradientEqualsReference(String model, String feedback, boolean bn) {
        long seed = seed();
        System.out.println("cpu vs reference " + model + " " + feedback + " bn=" + bn + " seed " + seed
                + " (replay with -Dasymbp.seed=" + seed + ")");
        Dataset d = model.equals("lenet") ? Synthetic.dataset(1, 16, 16, 4, 12, 2, seed) : Synthetic.dataset(1, 4, 4, 3, 8, 2, seed);
        // One SGD step first (brsf then uses step 1's magnitudes, on trained weights). Not BM: a gradient
        // within rounding of 0 may take either sign, and BM would turn that into a 2η difference.
        TrainConfig cfg = TrainConfig.defaults().withModel(model).withBn(bn).withFeedback(feedback)
                .withUpdate("sgd").withLr(1e-3).withMomentum(0)
                .withBatch(d.trainCount()).withSeed(seed).withQuiet(true);
        // Both gradients are taken at the CPU run's weights, bit for bit: after a step the two backends'
        // weights differ by rounding, and a weight that lands within rounding of 0 would give its sign
        // feedback (usf, brsf, frsf, psf) the other sign there — a legitimate difference in V, not in
        // the gradient computation this test checks.
        float[] ref, cpu, weights;
        try (Backend be = TestBackends.open("cpu"); Trainer t = new Trainer(be, d, cfg)) {
            t.step();
            weights = t.parameters();
            t.lossAndGradients();
            cpu = t.gradients();
        }
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, d, cfg)) {
            t.step();
            t.setParameters(weights);
            t.lossAndGradients();
            ref = t.gradients();
            assertArrayEquals(weights, t.parameters(), "reference run holds the cpu run's weights");
            for (ParamLayout.Entry e : t.net().params().entries()) {
                double scale = 0;
                for (int i = 0; i < e.size(); i++) scale = Math.max(scale, Math.abs(ref[(int) e.offset() + i]));
                for (int i = 0; i < e.size(); i++) {
                    int k = (int) e.offset() + i;
                    assertEquals(ref[k], cpu[k], 2e-3 * scale + 1e-7, e.name() + "[" + i + "] cpu vs reference");
                }
            }
        }
    }

    /** A fresh seed per run, or -Dasymbp.seed=N to replay a printed one. */
    private static long seed() {
        return Long.getLong("asymbp.seed", System.nanoTime());
    }

    /** (L(p + h·e_i) − L(p − h·e_i)) / (the step actually taken, after float rounding); p is left as it was. */
    private static double centralDifference(Trainer t, float[] p, int i, float h) {
        float keep = p[i], up = keep + h, down = keep - h;
        p[i] = up;
        t.setParameters(p);
        double lp = t.batchLoss();
        p[i] = down;
        t.setParameters(p);
        double lm = t.batchLoss();
        p[i] = keep;
        t.setParameters(p);
        return (lp - lm) / ((double) up - down);
    }
}
