package asymbp.conformance;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A few real training steps through the engine's Trainer on each device backend next to the CPU
 * backend, same seed and data: LeNet+BN and an MLP, every feedback mode, both updates. Per step the
 * batch losses must agree within LOSS_TOL (relative); after the last step the parameters within
 * PARAM_TOL (relative to the tensor's scale), and the gradients' signs everywhere except where a
 * gradient is ~0 (Batch Manhattan turns exactly those into opposite moves of 2η).
 */
class TrainingConformanceTest {

    static final int STEPS = 5;
    /** Measured on pocl (opencl vs cpu): step losses ≤ 1.5e-6, parameters after 5 SGD steps ≤ 3.5e-4 (usf/brsf
     *  with momentum amplify last-bit differences), BM parameters bit-identical. */
    static final double LOSS_TOL = 1e-5;
    static final double PARAM_TOL = 1e-3;
    /** Gradient-sign disagreements: at most this share of all parameters ... */
    static final double FLIP_SHARE = 1e-3;
    /** ... and only where |g| ≤ this fraction of the gradient's rms. */
    static final double FLIP_NEAR_ZERO = 1e-2;

    static final List<String> MODES = List.of("bp", "usf", "brsf", "frsf", "fa", "psf:0.5");

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String backend : DeviceBackends.NAMES)
            for (String model : List.of("lenet", "mlp:120-84"))
                for (String update : List.of("sgd", "bm"))
                    out.add(Arguments.of(backend, model, update));
        return out;
    }

    private static Dataset mnist;
    private static final Map<String, Backend> OPEN = new HashMap<>();
    private static Backend cpu;

    @AfterAll
    static void closeAll() {
        for (Backend b : OPEN.values()) b.close();
        OPEN.clear();
        if (cpu != null) cpu.close();
        cpu = null;
    }

    @ParameterizedTest(name = "{0} {1} {2}") @MethodSource("cases")
    void stepsMatchTheCpuBackendInEveryFeedbackMode(String backend, String model, String update) {
        Backend dev = OPEN.get(backend);
        if (dev == null) { dev = DeviceBackends.openOrSkip(backend); OPEN.put(backend, dev); }
        if (cpu == null) cpu = DeviceBackends.cpu();
        if (mnist == null) mnist = Datasets.load("mnist");
        long seed = DeviceBackends.seed("training " + backend + " " + model + " " + update);
        boolean bm = update.equals("bm");
        for (String mode : MODES) {
            TrainConfig cfg = TrainConfig.defaults().withModel(model).withBn(model.equals("lenet")).withFeedback(mode)
                    .withUpdate(update).withLr(bm ? 1e-4 : 0.05).withMomentum(0.9).withWeightDecay(bm ? 0 : 1e-4)
                    .withSeed(seed).withLimit(STEPS * 64).withBatch(64).withQuiet(true);
            String what = backend + " " + model + (cfg.bn() ? "+bn" : "") + " " + mode + " " + update;
            try (Trainer a = new Trainer(dev, mnist, cfg); Trainer b = new Trainer(cpu, mnist, cfg)) {
                a.setLog(s -> {});
                b.setLog(s -> {});
                double worst = 0;
                boolean diverged = false;
                for (int s = 0; s < STEPS && !diverged; s++) {
                    float la = a.step(), lb = b.step();
                    // Without BN, usf/brsf with SGD may blow up within steps (SPEC §5): both must, at the same step.
                    assertEquals(b.diverged(), a.diverged(), what + ": step " + s + " diverged on one backend only, loss "
                            + la + ", cpu " + lb);
                    diverged = b.diverged();
                    if (diverged && !Float.isFinite(lb)) break;
                    double err = Math.abs(la - lb) / Math.abs(lb);
                    worst = Math.max(worst, err);
                    int at = s;
                    assertTrue(err <= LOSS_TOL, () -> what + ": step " + at + " loss " + la + ", cpu " + lb
                            + " (relative " + err + " > " + LOSS_TOL + ")");
                }
                if (diverged) {
                    System.out.printf("  %-40s diverged at the same step on both, worst step-loss rel err %.1e%n", what, worst);
                    continue;
                }
                double p = Compare.assertClose(what + " parameters after " + STEPS + " steps", a.parameters(), b.parameters(), PARAM_TOL);
                float[] ga = a.gradients(), gb = b.gradients();
                double sq = 0;
                for (float g : gb) sq += (double) g * g;
                double rms = Math.sqrt(sq / gb.length);
                int flips = 0;
                for (int i = 0; i < gb.length; i++) {
                    if (Math.signum(ga[i]) == Math.signum(gb[i])) continue;
                    flips++;
                    int at = i;
                    assertTrue(Math.abs(gb[i]) <= FLIP_NEAR_ZERO * rms, () -> what + ": gradient " + at + " has sign "
                            + Math.signum(ga[at]) + " (" + ga[at] + ") vs cpu " + gb[at] + ", not near 0 (rms " + rms + ")");
                }
                double share = (double) flips / gb.length;
                System.out.printf("  %-40s worst step-loss rel err %.1e, params %.1e, gradient sign flips %d/%d%n",
                        what, worst, p, flips, gb.length);
                assertTrue(share <= FLIP_SHARE, what + ": " + flips + " gradient signs differ (share " + share + ")");
            }
        }
    }
}
