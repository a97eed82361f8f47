package asymbp.train;

import asymbp.backend.UpdateRule;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: {@link TrainConfig#validate()} at each limit (the last value accepted and the first refused,
 * with the exact message), the learning-rate schedule at its step epochs, and the option table's lookups.
 */
class TrainConfigMutationTest {

    private static final TrainConfig D = TrainConfig.defaults();

    private static void ok(UnaryOperator<TrainConfig> change) {
        TrainConfig c = change.apply(D);
        assertSame(c, c.validate());
    }

    private static void refused(String message, UnaryOperator<TrainConfig> change) {
        TrainConfig c = change.apply(D);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::validate);
        assertEquals(message, e.getMessage());
    }

    @Test
    void countsAtTheirLimits() {
        ok(c -> c.withEpochs(1));
        refused("--epochs 0: must be at least 1", c -> c.withEpochs(0));
        ok(c -> c.withBatch(1));
        refused("--batch 0: must be at least 1", c -> c.withBatch(0));
        ok(c -> c.withEvalBatch(0));
        refused("--eval-batch -1: must be at least 1 (0 = --batch)", c -> c.withEvalBatch(-1));
        ok(c -> c.withDevice(0));
        refused("--device -1: must be ≥ 0", c -> c.withDevice(-1));
        ok(c -> c.withLimit(0));
        refused("--limit -1: must be ≥ 0 (0 = all)", c -> c.withLimit(-1));
    }

    @Test
    void realsAtTheirLimits() {
        ok(c -> c.withLr(Double.MIN_VALUE));
        refused("--lr 0.0: must be a positive number", c -> c.withLr(0));
        refused("--lr NaN: must be a positive number", c -> c.withLr(Double.NaN));
        refused("--lr Infinity: must be a positive number", c -> c.withLr(Double.POSITIVE_INFINITY));
        ok(c -> c.withLrFactor(Double.MIN_VALUE));
        refused("--lr-factor 0.0: must be a positive number", c -> c.withLrFactor(0));
        refused("--lr-factor NaN: must be a positive number", c -> c.withLrFactor(Double.NaN));
        refused("--lr-factor Infinity: must be a positive number", c -> c.withLrFactor(Double.POSITIVE_INFINITY));
        ok(c -> c.withMomentum(0));
        ok(c -> c.withMomentum(Math.nextDown(1.0)));
        refused("--momentum 1.0: must be in [0,1)", c -> c.withMomentum(1));
        refused("--momentum -1.0E-9: must be in [0,1)", c -> c.withMomentum(-1e-9));
        refused("--momentum NaN: must be in [0,1)", c -> c.withMomentum(Double.NaN));
        ok(c -> c.withWeightDecay(0));
        refused("--weight-decay -1.0E-9: must be ≥ 0", c -> c.withWeightDecay(-1e-9));
        refused("--weight-decay NaN: must be ≥ 0", c -> c.withWeightDecay(Double.NaN));
        refused("--weight-decay Infinity: must be ≥ 0", c -> c.withWeightDecay(Double.POSITIVE_INFINITY));
        ok(c -> c.withFaSigma(0));
        refused("--fa-sigma -1.0E-9: must be > 0 (0 = the init std)", c -> c.withFaSigma(-1e-9));
        refused("--fa-sigma NaN: must be > 0 (0 = the init std)", c -> c.withFaSigma(Double.NaN));
        refused("--fa-sigma Infinity: must be > 0 (0 = the init std)", c -> c.withFaSigma(Double.POSITIVE_INFINITY));
        ok(c -> c.withDivergeBound(0));
        refused("--diverge-bound -1.0E-9: must be > 0 (0 = 100·ln(classes))", c -> c.withDivergeBound(-1e-9));
        refused("--diverge-bound NaN: must be > 0 (0 = 100·ln(classes))", c -> c.withDivergeBound(Double.NaN));
        refused("--diverge-bound Infinity: must be > 0 (0 = 100·ln(classes))", c -> c.withDivergeBound(Double.POSITIVE_INFINITY));
    }

    @Test
    void learningRateStepsMustBePositiveAndIncreasing() {
        ok(c -> c.withEpochs(2).withLrSteps(List.of(1)));
        ok(c -> c.withEpochs(8).withLrSteps(List.of(1, 2, 7)));
        refused("--lr-steps 1: the run has 1 epoch(s) (--epochs), so this step would never apply", c -> c.withEpochs(1).withLrSteps(List.of(1)));
        refused("--lr-steps 8: the run has 8 epoch(s) (--epochs), so this step would never apply", c -> c.withEpochs(8).withLrSteps(List.of(1, 2, 8)));
        refused("--lr-steps 0: epochs must be ≥ 1", c -> c.withLrSteps(List.of(0)));
        ok(c -> c.withFbScale(Double.MIN_VALUE));
        ok(c -> c.withFbScale(asymbp.model.FbScale.XAVIER));
        // a bad scale cannot even enter a config (FbScale parses it on the way in)
        assertEquals("--fb-scale 0.0: must be a positive number or xavier",
                assertThrows(IllegalArgumentException.class, () -> D.withFbScale(0)).getMessage());
        assertEquals("--fb-scale Infinity: must be a positive number or xavier",
                assertThrows(IllegalArgumentException.class, () -> D.withFbScale(Double.POSITIVE_INFINITY)).getMessage());
        refused("--lr-steps 3,3: must be increasing", c -> c.withEpochs(9).withLrSteps(List.of(3, 3)));
        refused("--lr-steps 1,4,2: must be increasing", c -> c.withEpochs(9).withLrSteps(List.of(1, 4, 2)));
        assertEquals(List.of(), new TrainConfig("mnist", "lenet", "bp", false, "sgd", 1, 1, 0.1, 0, 0, null, 0.1, 1,
                "cpu", 0, 0, null, "uniform", asymbp.model.FbScale.ONE, "uniform", 0, false, 0, 0, false, false).lrSteps(), "null: no steps");
    }

    @Test
    void namesAndChoices() {
        for (String b : List.of("auto", "cpu", "opencl", "cuda")) ok(c -> c.withBackend(b));
        ok(c -> c.withBackend("CUDA"));
        refused("--backend gpu: must be auto, cpu, opencl or cuda", c -> c.withBackend("gpu"));
        ok(c -> c.withWeightInit("xavier"));
        ok(c -> c.withWeightInit("Uniform"));
        refused("--weight-init he: must be uniform or xavier", c -> c.withWeightInit("he"));
        ok(c -> c.withMagnitude("halfnormal"));
        refused("--fb-magnitude normal: must be uniform or halfnormal", c -> c.withMagnitude("normal"));
        refused("--update adam: must be sgd or bm", c -> c.withUpdate("adam"));
        refused("--model resnet: unknown model (expected mlp:W1-W2-..., lenet, lenet-biotorch or cifar)", c -> c.withModel("resnet"));
        ok(c -> c.withModel("cifar"));
        assertEquals(UpdateRule.SGD, D.withUpdate("SGD").updateRule());
        assertEquals(UpdateRule.BM, D.withUpdate("bm").updateRule());
        assertEquals("sgd", D.withUpdate("SGD").update());
        assertEquals("cpu", D.withBackend("CPU").backend());
    }

    @Test
    void datasetsByNameOrKindAndPath() {
        for (String d : List.of("mnist", "fashion-mnist", "MNIST", " cifar10 ", "cifar10:/data/c10", "idx:dir", "folder:/x?size=32",
                "mnist?limit=5"))
            ok(c -> c.withDataset(d));
        String expected = ": is not a dataset (expected one of mnist, fashion-mnist, digits, cifar10, cifar100, svhn, stl10, "
                + "caltech101, caltech256, icubworld, fmd, indoor67, lfw, pubfig, facescrub, or KIND:PATH with KIND one of "
                + "idx, cifar10, cifar100, svhn, stl10, folder)";
        for (String d : List.of("imagenet", "cifar10:", "cifar10:?x=1", "tar:/x", "m:dir", ":mnist"))
            refused("--dataset " + d + expected, c -> c.withDataset(d));
        refused("--dataset '': is empty", c -> c.withDataset(""));
        refused("--dataset '': is empty", c -> c.withDataset("  "));
        refused("--dataset '': is empty", c -> c.withDataset(null));
    }

    @Test
    void learningRateScheduleMultipliesAtEachStepEpoch() {
        TrainConfig c = D.withLr(2).withLrSteps(List.of(2, 4)).withLrFactor(0.5);
        assertEquals(2.0, c.lrAt(0));
        assertEquals(2.0, c.lrAt(1));
        assertEquals(1.0, c.lrAt(2), "epoch 2 is the first at the lower rate");
        assertEquals(1.0, c.lrAt(3));
        assertEquals(0.5, c.lrAt(4));
        assertEquals(0.5, c.lrAt(99));
        assertEquals(2.0, D.withLr(2).lrAt(5), "no steps, no change");
    }

    @Test
    void divergenceBoundDefaultsToAHundredTimesLnClasses() {
        assertEquals(100 * Math.log(10), D.divergeBoundFor(10), 1e-12);
        assertEquals(100 * Math.log(100), D.divergeBoundFor(100), 1e-12);
        assertEquals(7.5, D.withDivergeBound(7.5).divergeBoundFor(10));
        assertEquals(Double.MIN_VALUE, D.withDivergeBound(Double.MIN_VALUE).divergeBoundFor(10));
    }

    @Test
    void feedbackSpecCarriesTheFeedbackOptions() {
        var s = D.withFeedback("psf:0.25").withMagnitude("halfnormal").withFaSigma(0.5).withLastLayerBp(true).feedbackSpec();
        assertEquals(0.25f, s.p());
        assertTrue(s.halfNormal());
        assertEquals(0.5f, s.faSigma());
        assertFalse(D.feedbackSpec().halfNormal());
    }

    @Test
    void optionLookupsAndTheGridSubset() {
        for (TrainConfig.Option o : TrainConfig.Option.values()) {
            assertSame(o, TrainConfig.Option.byKey(o.key));
            assertSame(o, TrainConfig.Option.byFlag(o.flag));
        }
        assertNull(TrainConfig.Option.byKey("nope"));
        assertNull(TrainConfig.Option.byFlag("--nope"));
        List<TrainConfig.Option> grid = new ArrayList<>(Arrays.asList(TrainConfig.Option.values()));
        grid.removeIf(o -> !o.grid);
        assertEquals(grid, TrainConfig.Option.gridOptions());
        assertTrue(grid.contains(TrainConfig.Option.EPOCHS) && !grid.contains(TrainConfig.Option.DATASET));
        assertEquals(64, TrainConfig.Option.BATCH.of(D));
        assertEquals("brsf", TrainConfig.Option.FEEDBACK.of(D));
    }

    @Test
    void withTakesPathsAndNamesTheOptionOnABadValue() {
        assertEquals("/w/init", D.with(TrainConfig.Option.INIT, Path.of("/w/init")).init());
        assertEquals(D.withEpochs(3).withBatch(8), D.with(Map.of(TrainConfig.Option.EPOCHS, 3, TrainConfig.Option.BATCH, 8)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> D.with(TrainConfig.Option.EPOCHS, "many"));
        assertTrue(e.getMessage().startsWith("cannot set [EPOCHS]: "), e.getMessage());
        assertNull(D.withInit(null).init());
    }
}
