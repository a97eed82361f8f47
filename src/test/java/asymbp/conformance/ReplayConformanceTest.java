package asymbp.conformance;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Each device backend's {@link asymbp.backend.StepReplay} (OpenCL: steps enqueued back to back with
 * the divergence test on the device; CUDA: a recorded graph) against the same backend's eager steps,
 * which read every loss back: the same parameters, momentum and BN statistics bit for bit, the same
 * epoch losses up to the device's float summation, and divergence caught at the same step with the
 * same loss.
 */
class ReplayConformanceTest {

    static Iterable<String> backends() { return DeviceBackends.NAMES; }

    /** 1000 MNIST images: batch 64 leaves a partial last batch (eager), batch 8 more steps than a replay chunk. */
    private static final Dataset DATA = Datasets.load("mnist").limitTrain(1000);

    private record Run(float[] params, float[] velocity, float[] bn, double[] losses, long steps, long replayed,
                       boolean diverged, long divergedStep, float divergedLoss) {}

    private static Run train(Backend be, TrainConfig cfg, boolean replay) {
        try (Trainer t = new Trainer(be, DATA, cfg)) {
            t.setReplay(replay);
            double[] losses = new double[cfg.epochs()];
            for (int e = 0; e < cfg.epochs() && !t.diverged(); e++) losses[e] = t.trainEpoch().loss();
            return new Run(t.parameters(), t.velocity(), t.bnState(), losses, t.steps(), t.replayedSteps(),
                    t.diverged(), t.divergedStep(), t.divergedLoss());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void replayedEpochsEqualEagerSteps(String name) {
        List<TrainConfig> cfgs = List.of(
                TrainConfig.defaults().withModel("lenet").withFeedback("brsf").withBn(true).withUpdate("bm")
                        .withLr(5e-5).withBatch(64).withEpochs(2).withLrSteps(List.of(1)).withLrFactor(0.5).withQuiet(true),
                TrainConfig.defaults().withModel("mlp:64-32").withFeedback("psf:0.5").withBn(true).withUpdate("sgd")
                        .withLr(0.02).withBatch(8).withEpochs(1).withWeightDecay(1e-4).withQuiet(true),
                // dfa: the projection e·B_l launches inside the replayed (on cuda: captured) step
                TrainConfig.defaults().withModel("mlp:64-32").withFeedback("dfa").withFbScale(asymbp.model.FbScale.XAVIER)
                        .withBn(false).withUpdate("sgd").withLr(0.02).withMomentum(0.9).withBatch(8).withEpochs(1).withQuiet(true));
        try (Backend be = DeviceBackends.openOrSkip(name)) {
            for (TrainConfig cfg : cfgs) {
                Run eager = train(be, cfg, false), replay = train(be, cfg, true);
                String what = name + " " + cfg.model() + " batch " + cfg.batch();
                System.out.println(what + ": " + replay.steps() + " steps, " + replay.replayed() + " replayed; losses eager "
                        + Arrays.toString(eager.losses()) + " replay " + Arrays.toString(replay.losses()));
                assertTrue(replay.replayed() > 0, what + ": no step was replayed");
                assertEquals(0, eager.replayed(), what + ": the eager run replayed");
                assertEquals(eager.steps(), replay.steps(), what + ": steps");
                assertArrayEquals(eager.params(), replay.params(), what + ": parameters, replay vs eager");
                assertArrayEquals(eager.velocity(), replay.velocity(), what + ": momentum, replay vs eager");
                assertArrayEquals(eager.bn(), replay.bn(), what + ": BN statistics, replay vs eager");
                for (int e = 0; e < eager.losses().length; e++)
                    assertEquals(eager.losses()[e], replay.losses()[e], 1e-5 * eager.losses()[e],
                            what + ": epoch " + (e + 1) + " loss (the device sums a chunk's losses in float)");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void replayedDivergenceStopsAtTheSameStep(String name) {
        // Finding 4: usf, SGD, no BN diverges after a few steps (step 5 on the cpu backend), inside the replayed steps.
        TrainConfig cfg = TrainConfig.defaults().withModel("mlp:256-256").withFeedback("usf").withBn(false)
                .withUpdate("sgd").withLr(0.01).withMomentum(0.9).withBatch(32).withEpochs(1).withQuiet(true);
        try (Backend be = DeviceBackends.openOrSkip(name)) {
            Run eager = train(be, cfg, false), replay = train(be, cfg, true);
            System.out.println(name + ": eager diverged at step " + eager.divergedStep() + " (loss " + eager.divergedLoss()
                    + "), replay at " + replay.divergedStep() + " (loss " + replay.divergedLoss() + ")");
            assertTrue(eager.diverged() && eager.divergedStep() >= 1, name + ": expected divergence after the first step");
            assertTrue(replay.diverged(), name + ": the replayed run did not diverge");
            assertEquals(eager.divergedStep(), replay.divergedStep(), name + ": diverged step");
            assertEquals(Float.floatToRawIntBits(eager.divergedLoss()), Float.floatToRawIntBits(replay.divergedLoss()),
                    name + ": diverged loss");
            assertEquals(eager.steps(), replay.steps(), name + ": steps done");
            assertArrayEquals(eager.params(), replay.params(), name + ": parameters at divergence (the diverged step does not update)");
            assertArrayEquals(eager.velocity(), replay.velocity(), name + ": momentum at divergence");
        }
    }
}
