package asymbp.train;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TrainerTest {

    static final Dataset SMALL = Synthetic.dataset(1, 8, 8, 4, 200, 60, 7);

    static TrainConfig small() {
        return TrainConfig.defaults().withModel("mlp:32-16").withFeedback("brsf").withUpdate("sgd").withBatch(16)
                .withLr(0.05).withEpochs(2).withQuiet(true);
    }

    static float[] losses(Backend be, TrainConfig cfg, int n) {
        try (Trainer t = new Trainer(be, SMALL, cfg)) {
            float[] l = new float[n];
            for (int i = 0; i < n; i++) l[i] = t.step();
            return l;
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void sameSeedSameLossesBitForBitDifferentSeedDifferent(String backend) {
        try (Backend be = TestBackends.open(backend)) {
            TrainConfig cfg = small().withSeed(11);
            float[] a = losses(be, cfg, 30), b = losses(be, cfg, 30), c = losses(be, cfg.withSeed(12), 30);
            for (int i = 0; i < a.length; i++)
                assertEquals(Float.floatToRawIntBits(a[i]), Float.floatToRawIntBits(b[i]), "step " + i + " differs with the same seed");
            assertFalse(Arrays.equals(a, c), "a different seed gave the same losses");
        }
    }

    @Test
    void epochOrderIsAPermutationAndDependsOnSeedAndEpoch() {
        int[] o = Trainer.epochOrder(5, 0, 1000);
        int[] sorted = o.clone();
        Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
        assertFalse(Arrays.equals(o, Trainer.epochOrder(5, 1, 1000)));
        assertFalse(Arrays.equals(o, Trainer.epochOrder(6, 0, 1000)));
        assertArrayEquals(o, Trainer.epochOrder(5, 0, 1000));
    }

    @Test
    void learnsTheSyntheticTask() {
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, small())) {
            double before = t.testError();
            t.trainEpoch();
            t.trainEpoch();
            double after = t.testError();
            System.out.println("synthetic test error " + before + "% -> " + after + "%");
            assertTrue(after < 10 && after < before, "test error " + before + "% -> " + after + "%");
        }
    }

    @Test
    void evaluationHandlesAPartialLastBatch() {
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, small().withEpochs(1))) {
            t.trainEpoch();
            double whole = t.testError();
            try (Trainer u = new Trainer(be, SMALL, small().withEpochs(1).withEvalBatch(7))) {
                // Same training, so same weights and running statistics; BN in eval mode is per example,
                // so the eval batching (60 = 8·7 + 4) must be invisible.
                assertNotEquals(0, SMALL.testCount() % 7);
                u.trainEpoch();
                assertArrayEquals(t.parameters(), u.parameters());
                assertArrayEquals(t.bnState(), u.bnState());
                assertEquals(whole, u.testError(), 1e-9);
            }
        }
    }

    @Test
    void learningRateStepSchedule() {
        TrainConfig c = TrainConfig.defaults().withLr(0.1).withLrSteps(List.of(50, 75)).withLrFactor(0.1);
        assertEquals(0.1, c.lrAt(0), 1e-15);
        assertEquals(0.1, c.lrAt(49), 1e-15);
        assertEquals(0.01, c.lrAt(50), 1e-15);
        assertEquals(0.01, c.lrAt(74), 1e-15);
        assertEquals(0.001, c.lrAt(75), 1e-15);
        assertEquals(0.001, c.lrAt(99), 1e-15);
        assertEquals(0.2, TrainConfig.defaults().withLr(0.2).lrAt(99), 1e-15);
    }

    @Test
    void scheduleReachesTheUpdate(@TempDir Path dir) throws Exception {
        // SGD, μ = 0, λ = 0: θ moves by exactly lr·g, so the lr in force is visible in the parameters.
        TrainConfig cfg = small().withMomentum(0).withFeedback("bp").withLrSteps(List.of(1)).withLrFactor(0.25)
                .withBatch(200).withEpochs(2);
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, cfg)) {
            RunResult r = t.run(dir);
            assertEquals(0.05, r.history().get(0).lr(), 1e-12);
            assertEquals(0.0125, r.history().get(1).lr(), 1e-12);
        }
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, cfg)) {
            t.step();
            t.lossAndGradients(); // gradient at the start of epoch 2 (same batch: one batch per epoch)
            float[] g = t.gradients(), p0 = t.parameters();
            t.step();
            float[] p1 = t.parameters();
            for (int i = 0; i < p0.length; i += 7)
                assertEquals(p0[i] - 0.0125f * g[i], p1[i], 1e-6f + 1e-5f * Math.abs(p0[i]), "parameter " + i);
        }
    }

    @Test
    void divergenceStopsWithinOneStepAndKeepsTheLastGoodCheckpoint(@TempDir Path dir) throws Exception {
        // Epoch 1 learns; from epoch 2 the lr is multiplied by 1e6, so the loss explodes.
        TrainConfig cfg = small().withFeedback("usf").withBn(false).withEpochs(3)
                .withLrSteps(List.of(1)).withLrFactor(1e6);
        float[] goodParams;
        // Epoch 1 alone: its schedule has no step (one at epoch 1 would never apply, and validate refuses it).
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, cfg.withEpochs(1).withLrSteps(List.of()))) {
            t.trainEpoch();
            goodParams = t.parameters();
        }
        // Where the loss first leaves the bound, seen by a run that never stops.
        long firstBad = -1;
        double bound = cfg.divergeBoundFor(SMALL.classes());
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, cfg.withDivergeBound(1e38))) {
            for (long s = 0; s < 3L * t.stepsPerEpoch() && !t.diverged(); s++) {
                float l = t.step();
                if (!Float.isFinite(l) || l > bound) { firstBad = s; break; }
            }
        }
        assertTrue(firstBad >= 13, "the loss should stay bounded in epoch 1; first bad step " + firstBad);
        RunResult r;
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, cfg)) {
            r = t.run(dir);
            assertTrue(t.diverged());
        }
        assertTrue(r.diverged());
        assertEquals(firstBad, r.divergedStep(), "divergence must be reported at the step whose loss left the bound");
        assertEquals(1, r.epochs());
        assertNull(r.testError());
        JsonNode json = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        assertTrue(json.get("diverged").asBoolean());
        assertTrue(json.get("test_error").isNull());
        assertEquals(firstBad, json.get("diverged_step").asLong());
        Checkpoint c = Checkpoint.read(dir.resolve(Checkpoint.FILE));
        assertEquals(1, c.header().epochs());
        assertArrayEquals(goodParams, c.params(), "the checkpoint must hold the last good epoch's parameters");
        assertFalse(Files.exists(dir.resolve("weights")), "diverged weights must not be exported");
    }

    /** Runs {@code epochs} epochs with the backend's StepReplay on or off; parameters, momentum, BN state, epoch losses. */
    private static Object[] epochs(Backend be, TrainConfig cfg, boolean replay, int epochs) {
        try (Trainer t = new Trainer(be, SMALL, cfg)) {
            t.setReplay(replay);
            double[] loss = new double[epochs];
            for (int e = 0; e < epochs; e++) loss[e] = t.trainEpoch().loss();
            if (replay) assertTrue(t.replayedSteps() > 0, "no step went through the replay");
            else assertEquals(0, t.replayedSteps());
            return new Object[] {t.parameters(), t.velocity(), t.bnState(), loss, t.steps(), t.eagerSteps()};
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void replayedEpochsEqualEagerStepsBitForBit(String backend) {
        // 200 images: batch 16 leaves a partial last batch (eager); batch 2 gives 100 steps, more than a replay chunk.
        for (TrainConfig cfg : List.of(small().withEpochs(3).withBn(true).withLrSteps(List.of(1, 2)).withLrFactor(0.3),
                small().withModel("mlp:12").withBatch(2).withUpdate("bm").withLr(1e-3).withMomentum(0.9))) {
            try (Backend be = TestBackends.open(backend)) {
                Object[] eager = epochs(be, cfg, false, 3), replayed = epochs(be, cfg, true, 3);
                String what = backend + " batch " + cfg.batch();
                assertArrayEquals((float[]) eager[0], (float[]) replayed[0], what + ": parameters");
                assertArrayEquals((float[]) eager[1], (float[]) replayed[1], what + ": momentum");
                assertArrayEquals((float[]) eager[2], (float[]) replayed[2], what + ": BN state");
                assertArrayEquals((double[]) eager[3], (double[]) replayed[3], what + ": epoch losses");
                assertEquals(eager[4], replayed[4], what + ": steps");
                System.out.println(what + ": " + replayed[4] + " steps, " + replayed[5] + " of them eager with replay on");
            }
        }
    }

    @Test
    void replayedDivergenceIsReportedAtTheSameStep() {
        TrainConfig cfg = small().withFeedback("usf").withBn(false).withEpochs(3).withLrSteps(List.of(1)).withLrFactor(1e6);
        long[] step = new long[2];
        float[] loss = new float[2];
        for (int r = 0; r < 2; r++)
            try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, cfg)) {
                t.setReplay(r == 1);
                for (int e = 0; e < 3 && !t.diverged(); e++) t.trainEpoch();
                assertTrue(t.diverged(), "replay " + (r == 1) + ": the run should diverge");
                step[r] = t.divergedStep();
                loss[r] = t.divergedLoss();
                assertEquals(step[r], t.steps(), "steps done stop at the diverged step");
            }
        assertEquals(step[0], step[1], "diverged step, eager vs replay");
        assertEquals(Float.floatToRawIntBits(loss[0]), Float.floatToRawIntBits(loss[1]), "diverged loss, eager vs replay");
    }

    @Test
    void nanLossIsDivergence() {
        TrainConfig cfg = small().withFeedback("bp").withBn(false);
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, SMALL, cfg)) {
            float[] p = t.parameters();
            p[0] = Float.NaN;
            t.setParameters(p);
            float l = t.step();
            assertTrue(Float.isNaN(l));
            assertTrue(t.diverged());
            assertEquals(0, t.divergedStep());
            assertThrows(IllegalStateException.class, t::step);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"reference", "cpu"})
    void twoEpochsEqualOnePlusResumeOne(String backend, @TempDir Path dir) throws Exception {
        TrainConfig cfg = small().withModel("mlp:24").withEpochs(2);
        float[] p2, v2, s2;
        List<EpochRecord> h2;
        try (Backend be = TestBackends.open(backend); Trainer t = new Trainer(be, SMALL, cfg)) {
            RunResult r = t.run(dir.resolve("straight"));
            p2 = t.parameters(); v2 = t.velocity(); s2 = t.bnState(); h2 = r.history();
        }
        try (Backend be = TestBackends.open(backend); Trainer t = new Trainer(be, SMALL, cfg.withEpochs(1))) {
            t.run(dir.resolve("split"));
        }
        assertFalse(Files.exists(dir.resolve("split").resolve(Checkpoint.FILE + ".tmp")));
        try (Backend be = TestBackends.open(backend); Trainer t = new Trainer(be, SMALL, cfg.withResume(true))) {
            RunResult r = t.run(dir.resolve("split"));
            assertEquals(2, r.epochs());
            assertArrayEquals(p2, t.parameters(), "parameters after 1 + resume 1 epochs");
            assertArrayEquals(v2, t.velocity(), "momentum after 1 + resume 1 epochs");
            assertArrayEquals(s2, t.bnState(), "BN statistics after 1 + resume 1 epochs");
            assertEquals(h2.get(1).loss(), r.history().get(1).loss());
            assertEquals(h2.get(1).testError(), r.history().get(1).testError());
        }
    }

    @Test
    void alignmentIsZeroForBpAndPositiveForSignFeedback() {
        try (Backend be = new ReferenceBackend()) {
            try (Trainer t = new Trainer(be, SMALL, small().withFeedback("bp"))) {
                t.trainEpoch();
                float[] state = t.bnState();
                List<LayerAlignment> a = t.alignment();
                assertEquals(3, a.size());
                for (LayerAlignment l : a) {
                    assertEquals(0, l.weightAngle(), 0.05, l.toString());
                    assertEquals(0, l.errorAngle(), 0.05, l.toString());
                }
                assertArrayEquals(state, t.bnState(), "alignment must not disturb the BN running statistics");
            }
            try (Trainer t = new Trainer(be, SMALL, small().withFeedback("usf"))) {
                t.trainEpoch();
                List<LayerAlignment> a = t.alignment();
                System.out.println("usf alignment " + a);
                LayerAlignment last = a.get(a.size() - 1);
                assertTrue(last.weightAngle() > 5 && last.weightAngle() < 90, last.toString());
                assertTrue(last.errorAngle() > 1 && last.errorAngle() < 90, last.toString());
                assertTrue(a.get(0).errorAngle() > 1, a.get(0).toString());
            }
        }
    }

    /**
     * dfa: no V of W's shape (the V–W angle is NaN by definition); the error angle compares e·B_l with
     * backprop's input gradient. The last layer's B is fa's B of that layer, so its error angle is fa's.
     */
    @Test
    void dfaAlignmentIsTheErrorSignalAngle() {
        try (Backend be = new ReferenceBackend();
             Trainer dfa = new Trainer(be, SMALL, small().withFeedback("dfa"));
             Trainer fa = new Trainer(be, SMALL, small().withFeedback("fa"));
             Trainer lastBp = new Trainer(be, SMALL, small().withFeedback("dfa").withLastLayerBp(true))) {
            List<LayerAlignment> d = dfa.alignment(), f = fa.alignment(), l = lastBp.alignment();
            System.out.println("dfa alignment " + d);
            for (LayerAlignment a : d) {
                assertTrue(Double.isNaN(a.weightAngle()), a.toString());
                assertTrue(a.errorAngle() > 1 && a.errorAngle() < 179, a.toString());
            }
            int last = d.size() - 1;
            assertEquals(f.get(last).errorAngle(), d.get(last).errorAngle(), 1e-9, "last layer: dfa's e·B_L is fa's");
            assertEquals(0, l.get(last).weightAngle(), 0.05, "--last-layer-bp: V = W");
            assertEquals(0, l.get(last).errorAngle(), 0.05, "--last-layer-bp: the true input gradient");
            assertTrue(Double.isNaN(l.get(0).weightAngle()), l.get(0).toString());
        }
    }
}
