package asymbp.train;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.model.ParamLayout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;

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
        long seed = System.nanoTime();
        System.out.println("GradientCheckTest " + backend + " " + model + " bn=" + bn + " seed " + seed);
        boolean conv = model.equals("lenet");
        Dataset d = conv ? Synthetic.dataset(1, 16, 16, 4, 12, 2, seed) : Synthetic.dataset(1, 4, 4, 3, 8, 2, seed);
        TrainConfig cfg = TrainConfig.defaults().withModel(model).withBn(bn).withFeedback("bp")
                .withBatch(d.trainCount()).withSeed(seed).withQuiet(true);
        try (Backend be = TestBackends.open(backend); Trainer t = new Trainer(be, d, cfg)) {
            float[] p = t.parameters();
            // Move BN's γ, β off 1 and 0 so their gradients are generic.
            Random rnd = new Random(seed);
            for (ParamLayout.Entry e : t.net().params().entries())
                if (e.name().startsWith("bn"))
                    for (int i = 0; i < e.size(); i++) p[(int) (e.offset() + i)] += (float) (0.3 * rnd.nextGaussian());
            t.setParameters(p);
            t.lossAndGradients();
            float[] g = t.gradients();
            int checked = 0, bad = 0, unsmooth = 0;
            StringBuilder report = new StringBuilder();
            for (ParamLayout.Entry e : t.net().params().entries()) {
                for (int k = 0; k < 6; k++) {
                    int i = (int) (e.offset() + rnd.nextInt((int) e.size()));
                    float h = 1e-3f * Math.max(1f, Math.abs(p[i]));
                    double[] q = differences(t, p, i, h);
                    double fdHalf = (q[0] + q[1]) / 2;
                    double tol = 3e-3 + 3e-2 * Math.max(Math.abs(fdHalf), Math.abs(g[i]));
                    checked++;
                    if (Math.abs(q[0] - q[1]) > tol) {
                        // A ReLU or max-pool switch lies inside ±h: the loss is not smooth here.
                        unsmooth++;
                        continue;
                    }
                    if (Math.abs(fdHalf - g[i]) > tol) {
                        bad++;
                        report.append(String.format("%n  %s[%d]: backward %.6g, finite difference %.6g",
                                e.name(), i - e.offset(), g[i], fdHalf));
                    }
                }
            }
            t.setParameters(p);
            System.out.println("  checked " + checked + " parameters, " + unsmooth + " at a kink, " + bad + " off" + report);
            assertEquals(0, bad, bad + " of " + checked + " gradients disagree with finite differences" + report);
            assertTrue(unsmooth <= checked / 5, unsmooth + " of " + checked + " samples at a kink: too few checked");
        }
    }

    /** The forward and the backward one-sided difference quotients at parameter i; they differ at a kink. */
    private static double[] differences(Trainer t, float[] p, int i, float h) {
        float keep = p[i];
        double l0 = t.batchLoss();
        p[i] = keep + h;
        t.setParameters(p);
        double lp = t.batchLoss();
        double hp = (double) p[i] - keep;
        p[i] = keep - h;
        t.setParameters(p);
        double lm = t.batchLoss();
        double hm = keep - (double) p[i];
        p[i] = keep;
        t.setParameters(p);
        return new double[] {(lp - l0) / hp, (l0 - lm) / hm};
    }
}
