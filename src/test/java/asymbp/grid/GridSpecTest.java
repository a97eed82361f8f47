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
        assertEquals(0.02, g.lrFor(Stabiliser.NONE), 0);
        assertEquals(0.05, g.lrFor(Stabiliser.BN), 0, "the stabiliser's own key wins over the rule's");
        assertEquals(0.0001, g.lrFor(Stabiliser.BM), 0);
        assertEquals(0.0001, g.lrFor(Stabiliser.BN_BM), 0);
        GridSpec one = GridSpec.parse(GOOD.replace("lr: {none: 0.01, bn: 0.05, bm: 1e-4, bn+bm: 3.0e-4}", "lr: 0.1"), "x.yaml");
        assertEquals(0.1, one.lrFor(Stabiliser.BN_BM), 0);
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
    }
}
