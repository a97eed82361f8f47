package asymbp.grid;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GridSpecTest {

    static final String GOOD = String.join("\n",
            "name: demo",
            "datasets: [mnist, fashion-mnist]",
            "models: [lenet]",
            "feedback: [bp, usf, brsf, frsf, fa, 'psf:0', 'psf:0.25', 'psf:0.5', 'psf:0.75']",
            "stabilisers: [none, bn, bm, bn+bm]",
            "seeds: [1, 2]",
            "epochs: 2",
            "batch: 64",
            "lr: {none: 0.01, bn: 0.05, bm: 1e-4, bn+bm: 3.0e-4}",
            "momentum: 0.9",
            "weight_decay: 0",
            "lr_steps: [1]",
            "limit: 10000",
            "backend: cpu",
            "");

    @Test
    void parsesTheCrossProductInSeedMajorOrder() {
        GridSpec g = GridSpec.parse(GOOD, "demo.yaml");
        List<CellSpec> cells = g.cells();
        assertEquals(2 * 9 * 4 * 2, cells.size());
        assertEquals(1, cells.get(0).seed());
        assertEquals(1, cells.get(71).seed());
        assertEquals(2, cells.get(72).seed());
        assertEquals(cells.size(), cells.stream().map(CellSpec::id).distinct().count(), "ids are unique");
        CellSpec bnbm = cells.stream().filter(c -> c.stabiliser().equals("bn+bm")).findFirst().orElseThrow();
        assertEquals(3.0e-4, bnbm.lr(), 0);
        assertEquals(Stabiliser.BN_BM, bnbm.stab());
        assertTrue(bnbm.stab().bn);
        CellSpec bm = cells.stream().filter(c -> c.stabiliser().equals("bm")).findFirst().orElseThrow();
        assertEquals(1e-4, bm.lr(), 0, "'1e-4' (a YAML string) is read as a number");
        assertEquals(0.01, cells.stream().filter(c -> c.stabiliser().equals("none")).findFirst().orElseThrow().lr(), 0);
        assertEquals(List.of(1), cells.get(0).lrSteps());
        assertEquals(10000, cells.get(0).limit());
        assertEquals("cpu", cells.get(0).backend());
        assertEquals(0.9, cells.get(0).momentum(), 0);
    }

    @Test
    void learningRateByUpdateRuleAppliesToBothStabilisersOfThatRule() {
        GridSpec g = GridSpec.parse(GOOD.replace("lr: {none: 0.01, bn: 0.05, bm: 1e-4, bn+bm: 3.0e-4}",
                "lr: {sgd: 0.02, bm: 0.0001, bn: 0.05}"), "x.yaml");
        assertEquals(List.of(0.02), g.lrsFor(Stabiliser.NONE));
        assertEquals(List.of(0.05), g.lrsFor(Stabiliser.BN), "the stabiliser's own key wins over the rule's");
        assertEquals(List.of(0.0001), g.lrsFor(Stabiliser.BM));
        assertEquals(List.of(0.0001), g.lrsFor(Stabiliser.BN_BM));
        GridSpec one = GridSpec.parse(GOOD.replace("lr: {none: 0.01, bn: 0.05, bm: 1e-4, bn+bm: 3.0e-4}", "lr: 0.1"), "x.yaml");
        assertEquals(List.of(0.1), one.lrsFor(Stabiliser.BN_BM));
    }

    private static void bad(String yaml, String... mustContain) {
        GridFileException e = assertThrows(GridFileException.class, () -> GridSpec.parse(yaml, "grids/bad.yaml"));
        String msg = e.getMessage();
        assertFalse(msg.contains("\n\tat "), "no stack trace in the message: " + msg);
        assertTrue(msg.startsWith("grids/bad.yaml"), "names the file: " + msg);
        for (String s : mustContain) assertTrue(msg.contains(s), "message '" + msg + "' should contain '" + s + "'");
    }

    @Test
    void badValuesAreNamedWithFileKeyAndValue() {
        bad(GOOD.replace("'psf:0.75'", "'psf:1.5'"), "key 'feedback'", "'psf:1.5'");
        bad(GOOD.replace("fa,", "rndf,"), "key 'feedback'", "'rndf'");
        bad(GOOD.replace("bn+bm]", "bnbm]"), "key 'stabilisers'", "'bnbm'", "none, bn, bm, bn+bm");
        bad(GOOD.replace("epochs: 2", "epochs: two"), "key 'epochs'", "'two'", "positive integer");
        bad(GOOD.replace("epochs: 2", "epochs: 0"), "key 'epochs'", "'0'");
        bad(GOOD.replace("epochs: 2\n", ""), "missing key 'epochs'");
        bad(GOOD.replace("momentum: 0.9", "momentum: 1.5"), "key 'momentum'", "'1.5'");
        bad(GOOD.replace("seeds: [1, 2]", "seeds: [1, x]"), "key 'seeds'", "'x'");
        bad(GOOD.replace("seeds: [1, 2]", "seeds: [1, 1]"), "key 'seeds'", "'1'", "twice");
        bad(GOOD.replace("models: [lenet]", "models: [resnet]"), "key 'models'", "'resnet'");
        bad(GOOD.replace("backend: cpu", "backend: tpu"), "key 'backend'", "'tpu'");
        bad(GOOD.replace("lr_steps: [1]", "lr_steps: [5]"), "key 'lr_steps'", "'5'");
        bad(GOOD.replace("bn: 0.05,", "bn: -1,"), "key 'lr.bn'", "'-1'");
        bad(GOOD.replace("bn: 0.05,", "bm2: 0.1,"), "key 'lr'", "'bm2'");
        bad(GOOD.replace("lr: {none: 0.01, bn: 0.05, bm: 1e-4, bn+bm: 3.0e-4}", "lr: {bn: 0.05, bm: 0.001}"),
                "key 'lr'", "no learning rate for stabiliser 'none'");
        bad(GOOD + "epoch: 3\n", "unknown key 'epoch'");
        bad(GOOD.replace("datasets: [mnist, fashion-mnist]", "datasets: []"), "key 'datasets'", "non-empty list");
        bad("datasets: [mnist\nmodels: lenet\n", "not valid YAML", "line");
        bad("", "empty grid file");
        bad("- a\n- b\n", "expected a mapping");
    }

    @Test
    void anyTrainOptionMaySweepAndTheGridIsTheProduct() {
        String base = String.join("\n", "datasets: [mnist]", "models: [lenet]", "feedback: [brsf, fa]",
                "stabilisers: [bn, bm]", "seeds: [1]", "epochs: 2", ""); // 2: lr step 1 applies to epoch 2
        GridSpec g = GridSpec.parse(base + "lr: [0.01, 0.03]\nfb_scale: [0.5, 2]\nfa_sigma: 0.1\nweight_init: xavier\n"
                + "last_layer_bp: [false, true]\nfb_magnitude: halfnormal\nlr_steps: [[1], []]\n", "s.yaml");
        List<CellSpec> cells = g.cells();
        assertEquals(2 * 2 * 2 * 2 * 2 * 2, cells.size(), "2 feedback x 2 stabilisers x 2 lr x 2 fb_scale x 2 last_layer_bp x 2 lr_steps");
        assertEquals(cells.size(), cells.stream().map(CellSpec::id).distinct().count(), "ids are unique");
        assertEquals(cells.size(), cells.stream().map(CellSpec::groupKey).distinct().count(),
                "one seed: each swept setting is its own group");
        CellSpec c = cells.get(cells.size() - 1);
        assertEquals("lr=0.03,lr_steps=,fb_scale=2,last_layer_bp=true", c.sweep());
        assertEquals(0.03, c.lr(), 0);
        assertEquals(2.0, c.fbScale().value(), 0);
        assertEquals(0.1, c.faSigma(), 0);
        assertEquals("xavier", c.weightInit());
        assertEquals("halfnormal", c.fbMagnitude());
        assertTrue(c.lastLayerBp());
        var cfg = TrainerCellRunner.config(c);
        assertEquals(2.0, cfg.fbScale().value(), 0);
        assertEquals(0.1, cfg.faSigma(), 0);
        assertEquals("xavier", cfg.weightInit());
        assertEquals("halfnormal", cfg.magnitude());
        assertTrue(cfg.lastLayerBp());
        assertEquals(List.of(1), cells.get(0).lrSteps());
        assertTrue(g.summary().endsWith("64 cells = 1 datasets x 1 models x 2 feedback x 2 stabilisers x 1 seeds"
                + " x swept lr, lr_steps, fb_scale, last_layer_bp"), g.summary());
        // lr by stabiliser may be a list for one stabiliser only
        GridSpec byStab = GridSpec.parse(base + "lr: {sgd: 0.01, bm: [1e-4, 3e-4]}\n", "s.yaml");
        assertEquals(2 * (1 + 2), byStab.cells().size());
        // a grid without sweeps keeps the ids it always had
        GridSpec plain = GridSpec.parse(base + "lr: 0.01\nfb_scale: 0.5\n", "s.yaml");
        assertEquals("mnist__lenet__brsf__bn__s1", plain.cells().get(0).id());
        assertEquals(0.5, plain.cells().get(0).fbScale().value(), 0);
    }

    @Test
    void badSweepsAndOptionsAreRefusedBeforeAnyCellRuns() {
        bad(GOOD.replace("momentum: 0.9", "momentum: [0.9, 1.2]"), "key 'momentum'", "'1.2'");
        bad(GOOD.replace("momentum: 0.9", "momentum: []"), "key 'momentum'", "non-empty list");
        bad(GOOD.replace("momentum: 0.9", "momentum: [0.9, 0.9]"), "key 'momentum'", "twice");
        bad(GOOD.replace("lr: {none: 0.01, bn: 0.05, bm: 1e-4, bn+bm: 3.0e-4}", "lr: [0.01, -1]"), "key 'lr'", "'-1'");
        bad(GOOD.replace("lr: {none: 0.01, bn: 0.05, bm: 1e-4, bn+bm: 3.0e-4}", "lr: {sgd: [0.01, x], bm: 1e-4}"),
                "key 'lr.sgd'", "'x'");
        bad(GOOD + "fb_scale: 0\n", "key 'fb_scale'", "'0'", "positive");
        bad(GOOD + "fa_sigma: [0.1, -2]\n", "key 'fa_sigma'", "'-2'");
        bad(GOOD + "weight_init: kaiming\n", "key 'weight_init'", "'kaiming'", "uniform or xavier");
        bad(GOOD + "fb_magnitude: gauss\n", "key 'fb_magnitude'", "'gauss'");
        bad(GOOD + "last_layer_bp: yes please\n", "key 'last_layer_bp'", "true or false");
        bad(GOOD + "eval_batch: -1\n", "key 'eval_batch'", "'-1'");
        bad(GOOD.replace("lr_steps: [1]", "lr_steps: [[1], [3]]"), "key 'lr_steps'", "'3'");
        bad(GOOD + "fbscale: 1\n", "unknown key 'fbscale'", "fb_scale");
        bad(GOOD + "fb_scale: [0.5, xavierish]\n", "key 'fb_scale'", "'xavierish'", "xavier");
    }

    @Test
    void committedGridsParseWithDfaAndTheirReference() {
        // the committed 100-epoch study files: every cell must pass train's checks before hours of running
        GridSpec g = GridSpec.load(java.nio.file.Path.of("grids/biotorch-protocol.yaml"));
        assertEquals(2 * 6 * 2, g.cells().size(), "2 datasets x 6 modes x 2 seeds");
        assertTrue(g.cells().stream().anyMatch(c -> c.feedback().equals("dfa")), "dfa cells present");
        assertTrue(g.cells().stream().allMatch(c -> c.fbScale().xavier() && c.epochs() == 100));
        assertEquals("dfa", TrainerCellRunner.config(g.cells().stream()
                .filter(c -> c.feedback().equals("dfa")).findFirst().orElseThrow()).feedback());
        assertEquals(16, GridSpec.load(java.nio.file.Path.of("grids/claim3-100epoch.yaml")).cells().size());
        assertEquals(8, GridSpec.load(java.nio.file.Path.of("grids/biotorch-protocol-fa-lr.yaml")).cells().size());
        GridSpec biotorchLenet = GridSpec.load(java.nio.file.Path.of("grids/biotorch-lenet.yaml"));
        assertEquals(6, biotorchLenet.cells().size());
        assertEquals(List.of("lenet-biotorch"), biotorchLenet.models());
        assertEquals(List.of(3e-4), GridSpec.load(java.nio.file.Path.of("grids/biotorch-lenet-dfa-lr.yaml")).cells().stream()
                .map(CellSpec::lr).toList());
        // the follow-up's rate is per stabiliser: SGD with BN at 1e-3, BN + BM at 1e-5
        List<CellSpec> followup = GridSpec.load(java.nio.file.Path.of("grids/claim3-bm-followup.yaml")).cells();
        assertEquals(8, followup.size()); // bp, usf × bn, bn+bm × seeds 1, 2
        for (CellSpec c : followup) assertEquals(c.stabiliser().equals("bn+bm") ? 1e-5 : 1e-3, c.lr(), c.id());
        bad(GOOD.replace("fa, 'psf:0'", "fa, dfa, dfb, 'psf:0'"), "key 'feedback'", "'dfb'", "dfa");
    }

    @Test
    void fbScaleXavierSweepsBesideNumbers() {
        GridSpec g = GridSpec.parse(GOOD + "fb_scale: [0.5, xavier]\n", "s.yaml");
        List<String> sweeps = g.cells().stream().map(CellSpec::sweep).distinct().sorted().toList();
        assertEquals(List.of("fb_scale=0.5", "fb_scale=xavier"), sweeps);
        CellSpec x = g.cells().stream().filter(c -> c.sweep().equals("fb_scale=xavier")).findFirst().orElseThrow();
        assertTrue(x.fbScale().xavier());
        assertTrue(TrainerCellRunner.config(x).fbScale().xavier(), "the cell's train config has --fb-scale xavier");
        // a cell stored in a result file reads back equal (the grid's rerun check compares them)
        CellSpec back = asymbp.io.Json.MAPPER.convertValue(asymbp.io.Json.MAPPER.valueToTree(x), CellSpec.class);
        assertEquals(x, back);
        assertEquals("xavier", asymbp.io.Json.MAPPER.valueToTree(x).get("fb_scale").asText());
        assertEquals(1, GridSpec.parse(GOOD + "fb_scale: XAVIER\n", "s.yaml").cells().stream()
                .map(c -> c.fbScale().xavier()).distinct().count());
    }

    @Test
    void lrStepsFollowTrainsRuleCellByCell() {
        // train refuses a step at or past the last epoch (it would never apply); so does every grid cell.
        bad(GOOD.replace("lr_steps: [1]", "lr_steps: [2]"), "key 'lr_steps'", "'2'", "the run has 2 epoch(s)");
        // With epochs swept, the rule holds for each cell's own epochs, not for the largest.
        bad(GOOD.replace("epochs: 2", "epochs: [2, 4]").replace("lr_steps: [1]", "lr_steps: [3]"),
                "key 'lr_steps'", "'3'", "the run has 2 epoch(s)", "epochs_2");
        bad(GOOD.replace("lr_steps: [1]", "lr_steps: [1, 1]"), "key 'lr_steps'", "must be increasing");
        GridSpec ok = GridSpec.parse(GOOD.replace("epochs: 2", "epochs: [2, 4]"), "grids/ok.yaml");
        assertEquals(2 * GridSpec.parse(GOOD, "grids/ok.yaml").cells().size(), ok.cells().size());
    }

    @Test
    void oneSweepingGridReplacesTheThreeLearningRateGrids() {
        java.util.function.Function<CellSpec, String> settings = c -> c.dataset() + " " + c.model() + " " + c.feedback()
                + " " + c.stabiliser() + " " + c.seed() + " " + c.lr() + " " + c.epochs() + " " + c.limit();
        java.util.Set<String> three = new java.util.HashSet<>();
        for (String x : List.of("A", "B", "C"))
            for (CellSpec c : GridSpec.load(Path.of("results/lr-sweep-mnist/" + x + "/grid.yaml")).cells()) three.add(settings.apply(c));
        List<CellSpec> one = GridSpec.load(Path.of("grids/lr-sweep-mnist.yaml")).cells();
        assertEquals(36, one.size());
        assertEquals(three, one.stream().map(settings).collect(java.util.stream.Collectors.toSet()));
    }

    @Test
    void missingFileIsNamed(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("nope.yaml");
        GridFileException e = assertThrows(GridFileException.class, () -> GridSpec.load(f));
        assertTrue(e.getMessage().contains("nope.yaml") && e.getMessage().contains("no such file"), e.getMessage());
        Files.writeString(f, GOOD.replace("batch: 64", "batch: -3"));
        e = assertThrows(GridFileException.class, () -> GridSpec.load(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains("key 'batch'")
                && e.getMessage().contains("'-3'"), e.getMessage());
    }

    @Test
    void committedGridFilesParse() {
        for (String f : List.of("grids/paper-mnist-fmnist.yaml", "grids/paper-100epoch.yaml")) {
            Path p = Path.of(f);
            assertTrue(Files.exists(p), f + " is committed");
            GridSpec g = GridSpec.load(p);
            assertFalse(g.cells().isEmpty(), f);
        }
        assertEquals(144, GridSpec.load(Path.of("grids/paper-mnist-fmnist.yaml")).cells().size());
        GridSpec full = GridSpec.load(Path.of("grids/paper-100epoch.yaml"));
        assertEquals(160, full.cells().size(), "2 datasets x 10 modes (dfa included) x 4 stabilisers x 2 seeds");
        assertEquals(16, full.cells().stream().filter(c -> c.feedback().equals("dfa")).count());
    }
}
