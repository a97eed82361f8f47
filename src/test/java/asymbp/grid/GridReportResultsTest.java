package asymbp.grid;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static asymbp.grid.Synthetic.cell;
import static org.junit.jupiter.api.Assertions.*;

/** results.csv (final and best epoch), partial grids, the reference comparison, weak verdicts, plot details. */
class GridReportResultsTest {

    static final String GRID = String.join("\n",
            "name: t",
            "datasets: [mnist]",
            "models: [lenet]",
            "feedback: [bp, usf, brsf, frsf]",
            "stabilisers: [none]",
            "seeds: [1, 2]",
            "epochs: 6",
            "batch: 64",
            "lr: 0.01",
            "backend: cpu",
            "");

    static final String REFERENCE = String.join("\n",
            "reference:",
            "  source: \"Made-up benchmark\"",
            "  commit: abc123",
            "  metric: best",
            "  values: {mnist: {bp: 1.5, usf: 2.0, brsf: 1.0, frsf: 1.0}}",
            "  tolerance: {mnist: 0.1}",
            "  note: \"best epoch on the test set\"",
            "");

    /** A finished cell whose test error per epoch is {@code errs}; the last is its final error. */
    static CellResult ok(CellSpec c, double... errs) {
        List<CellResult.EpochRecord> ep = new ArrayList<>();
        for (int e = 0; e < errs.length; e++) ep.add(new CellResult.EpochRecord(e + 1, 1.0 / (e + 1), 5, errs[e], 0.01, 1));
        return new CellResult(c, CellResult.OK, null, errs[errs.length - 1], ep,
                List.of(new CellResult.TracePoint(0.5, 1.0), new CellResult.TracePoint(1, 0.5)), List.of(), 6, "cpu: test", "now");
    }

    static CellSpec find(List<CellSpec> cells, String feedback, long seed) {
        return cells.stream().filter(c -> c.feedback().equals(feedback) && c.seed() == seed).findFirst().orElseThrow();
    }

    static List<String> row(List<String> csv, String id) {
        String line = csv.stream().filter(l -> l.startsWith(id + ",")).findFirst().orElseThrow(() -> new AssertionError(id));
        return Arrays.asList(line.split(",", -1));
    }

    static String col(List<String> row, String name) { return row.get(GridReport.RESULT_COLUMNS.indexOf(name)); }

    /**
     * bp: both seeds finished, seed 1's best epoch (3) lower than its final; usf: seed 1 diverged in epoch 4,
     * seed 2 finished; brsf: seed 1 finished, seed 2 stopped after 2 epochs (its work folder); frsf: not started.
     */
    private static Path partialGrid(Path dir, String extra) throws Exception {
        Files.writeString(dir.resolve("grid.yaml"), GRID + extra);
        List<CellSpec> cells = GridSpec.parse(GRID + extra, "t.yaml").cells();
        ResultStore store = new ResultStore(dir);
        store.write(ok(find(cells, "bp", 1), 3.0, 2.0, 1.25, 1.5, 1.5, 1.75));
        store.write(ok(find(cells, "bp", 2), 3.0, 2.0, 1.75, 1.5, 1.5, 1.5));
        CellSpec usf1 = find(cells, "usf", 1);
        store.write(new CellResult(usf1, CellResult.DIVERGED, "loss NaN at epoch 4", null,
                ok(usf1, 9.0, 8.0, 7.0).epochs(), List.of(), List.of(), 2, "cpu: test", "now"));
        store.write(ok(find(cells, "usf", 2), 4.0, 3.0, 2.5, 2.25, 2.0, 2.0));
        store.write(ok(find(cells, "brsf", 1), 4.0, 3.0, 2.0, 1.5, 1.25, 1.0));
        Path work = GridRunner.workDir(dir, find(cells, "brsf", 2));
        Files.createDirectories(work);
        Files.writeString(work.resolve("metrics.csv"), "epoch,loss,train_error,test_error,lr,seconds,images\n"
                + "1,0.9,20.0,42.4242,0.01,3.0,60000\n2,0.5,10.0,41.4141,0.01,3.0,60000\n");
        return dir;
    }

    @Test
    void resultsCsvGivesFinalAndBestAndNeverNumbersForUnfinishedOrDivergedCells(@TempDir Path dir) throws Exception {
        partialGrid(dir, "");
        GridReport.Written w = new GridReport(s -> {}).write(dir);
        assertEquals(8, w.cells(), "every cell of the grid is reported, unfinished ones included");
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertEquals(String.join(",", GridReport.RESULT_COLUMNS), csv.get(0));
        assertTrue(GridReport.RESULT_COLUMNS.containsAll(List.of("dataset", "mode", "seed", "epochs",
                "final_test_error", "best_test_error")), "the columns the issue asks for");
        assertEquals(9, csv.size());

        List<String> bp1 = row(csv, "mnist__lenet__bp__none__s1");
        assertEquals("ok", col(bp1, "status"));
        assertEquals("6", col(bp1, "epochs"));
        assertEquals("1.75", col(bp1, "final_test_error"));
        assertEquals("1.25", col(bp1, "best_test_error"));
        assertEquals("3", col(bp1, "best_epoch"));
        assertEquals("bp", col(bp1, "mode"));

        List<String> usf1 = row(csv, "mnist__lenet__usf__none__s1");
        assertEquals("diverged", col(usf1, "status"));
        assertEquals("3", col(usf1, "epochs"), "epochs completed before it diverged");
        assertEquals("", col(usf1, "final_test_error"));
        assertEquals("", col(usf1, "best_test_error"), "no best-before-divergence number");

        List<String> brsf2 = row(csv, "mnist__lenet__brsf__none__s2");
        assertEquals("unfinished", col(brsf2, "status"));
        assertEquals("2", col(brsf2, "epochs"));
        assertEquals("6", col(brsf2, "epochs_planned"));
        assertEquals("", col(brsf2, "final_test_error"));
        assertEquals("", col(brsf2, "best_test_error"));
        assertEquals("epoch 2 of 6 done", col(brsf2, "message"));
        List<String> frsf1 = row(csv, "mnist__lenet__frsf__none__s1");
        assertEquals("unfinished", col(frsf1, "status"));
        assertEquals("0", col(frsf1, "epochs"));
        assertEquals("no result yet", col(frsf1, "message"));

        String md = Files.readString(dir.resolve("results.md"));
        for (String f : List.of("results.csv", "cells.csv", "results.md"))
            assertFalse(Files.readString(dir.resolve(f)).contains("42.42") || Files.readString(dir.resolve(f)).contains("41.41"),
                    f + " shows no test error of an unfinished cell");
        assertTrue(md.contains("8 cells: 4 finished, 1 diverged, 0 failed, **3 not finished yet**"), md);
        assertTrue(md.contains("**Partial grid.**"), md);
        assertTrue(md.contains("| mnist__lenet__brsf__none__s2 | 2 of 6 | epoch 2 of 6 done |"), md);
        assertTrue(md.contains("| mnist__lenet__frsf__none__s2 | 0 of 6 | no result yet |"), md);
        // final and best epoch side by side (runs of 6 epochs count as long)
        assertTrue(md.contains("| feedback | none: final | none: best |"), md);
        assertTrue(md.contains("| bp | 1.63 ± 0.18 | 1.38 ± 0.18 |"), "final: mean of 1.75 and 1.5, best: of 1.25 and 1.5: " + md);
        assertTrue(md.contains("| usf | diverged (1/2 seeds) | diverged (1/2 seeds) |"), md);
        assertTrue(md.contains("| brsf | 1.00 (1 seed) (1 unfinished) | 1.00 (1 seed) (1 unfinished) |"), md);
        assertTrue(md.contains("| frsf | unfinished (2/2 seeds) | unfinished (2/2 seeds) |"), md);
        assertTrue(md.contains("| mnist__lenet__usf__none__s1 | diverged | 3 | loss NaN at epoch 4 |"), md);
        assertTrue(Files.isRegularFile(dir.resolve("test-error-mnist-lenet.png")), "long runs get the per-epoch figure");
        assertTrue(md.contains("](test-error-mnist-lenet.png)"), md);
    }

    @Test
    void aFinishedResultForOtherSettingsIsReportedAsUnfinished(@TempDir Path dir) throws Exception {
        partialGrid(dir, "");
        Files.writeString(dir.resolve("grid.yaml"), GRID.replace("lr: 0.01", "lr: 0.02"));
        new GridReport(s -> {}).write(dir);
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        List<String> bp1 = row(csv, "mnist__lenet__bp__none__s1");
        assertEquals("unfinished", col(bp1, "status"));
        assertTrue(col(bp1, "message").contains("other settings"), bp1.toString());
    }

    @Test
    void settingsListEveryRateOfASweep(@TempDir Path dir) throws Exception {
        String grid = GRID.replace("lr: 0.01", "lr: [0.01, 0.003]").replace("feedback: [bp, usf, brsf, frsf]", "feedback: [bp]");
        Files.writeString(dir.resolve("grid.yaml"), grid);
        List<CellSpec> cells = GridSpec.parse(grid, "t.yaml").cells();
        ResultStore store = new ResultStore(dir);
        for (CellSpec c : cells) if (c.seed() == 1) store.write(ok(c, 3.0, 2.0));
        new GridReport(s -> {}).write(dir);
        String row = Files.readAllLines(dir.resolve("results.md")).stream().filter(l -> l.startsWith("| none | no | sgd |"))
                .findFirst().orElseThrow();
        String lrs = row.split("\\|")[4].trim();
        assertEquals(java.util.Set.of("0.01", "0.003"), java.util.Set.of(lrs.split(", ")), row);
    }

    @Test
    void withoutAGridFileOnlyTheStoredCellsAreReported(@TempDir Path dir) throws Exception {
        partialGrid(dir, "");
        Files.writeString(dir.resolve("grid.yaml"), "datasets: [mnist]\nunknown_key: 1\n");
        List<String> log = new ArrayList<>();
        GridReport.Written w = new GridReport(log::add).write(dir);
        assertEquals(5, w.cells());
        assertTrue(log.stream().anyMatch(l -> l.startsWith("warning: ") && l.contains("unknown_key")), log.toString());
    }

    @Test
    void referenceTableComparesTheMetricWithinTolerance(@TempDir Path dir) throws Exception {
        partialGrid(dir, REFERENCE);
        // a third bp seed makes bp's check firm
        List<CellSpec> cells = GridSpec.parse(GRID.replace("[1, 2]", "[1, 2, 3]") + REFERENCE, "t.yaml").cells();
        Files.writeString(dir.resolve("grid.yaml"), GRID.replace("[1, 2]", "[1, 2, 3]") + REFERENCE);
        new ResultStore(dir).write(ok(find(cells, "bp", 3), 3.0, 1.5, 1.5, 1.5, 1.5, 1.5));
        new GridReport(s -> {}).write(dir);
        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("## Next to Made-up benchmark (commit abc123)"), md);
        assertTrue(md.contains("best epoch on the test set"), md);
        // bp best: 1.25, 1.5, 1.5 → 1.42 vs 1.5: −0.08, within 0.1, three seeds: firm
        assertTrue(md.contains("| mnist | bp | 3 | 1.58 ± 0.14 | 1.42 ± 0.14 | 1.5 | -0.08 | yes |"), md);
        // usf: one seed diverged → never a number, not within
        assertTrue(md.contains("| mnist | usf | 1 of 3 | diverged (1/3 seeds) | diverged (1/3 seeds) | 2 | — | no (diverged) |"), md);
        // brsf: one finished seed of three, best 1.0 = reference → within, but weak
        assertTrue(md.contains("| mnist | brsf | 1 of 3 | 1.00 (1 seed) (2 unfinished) | 1.00 (1 seed) (2 unfinished) | 1 | +0.00 | yes (weak: 1 seed) |"), md);
        assertTrue(md.contains("| mnist | frsf | 0 of 3 | unfinished (3/3 seeds) | unfinished (3/3 seeds) | 1 | — | not yet |"), md);
        assertTrue(md.contains("Within tolerance: 2 of 4 (1 of the checks rest on fewer than 3 seeds: weak)."), md);
        assertTrue(md.contains("Setting: lenet, none."), md);
    }

    @Test
    void referenceBlockIsParsedAndCheckedKeyByKey() {
        Reference r = GridSpec.parse(GRID + REFERENCE, "t.yaml").reference();
        assertEquals("Made-up benchmark", r.source());
        assertEquals("abc123", r.commit());
        assertTrue(r.best());
        assertEquals(Map.of("bp", 1.5, "usf", 2.0, "brsf", 1.0, "frsf", 1.0), r.values().get("mnist"));
        assertEquals(List.of("bp", "usf", "brsf", "frsf"), new ArrayList<>(r.values().get("mnist").keySet()), "file order");
        assertEquals(0.1, r.tolerance().get("mnist"));
        assertNull(GridSpec.parse(GRID, "t.yaml").reference(), "no block, no reference");

        String[][] bad = {
                {"  metric: best", "  metric: mean", "key 'reference.metric': expected best or final, got 'mean'"},
                {"  source: \"Made-up benchmark\"\n", "", "missing key 'reference.source'"},
                {"  note:", "  colour: red\n  note:", "unknown key 'reference.colour'"},
                {"{mnist: {bp: 1.5,", "{mnsit: {bp: 1.5,", "key 'reference.values': expected a dataset of the grid (mnist), got 'mnsit'"},
                {"usf: 2.0", "dfa: 2.0", "key 'reference.values.mnist': expected a feedback mode of the grid (bp, usf, brsf, frsf), got 'dfa'"},
                {"bp: 1.5", "bp: low", "key 'reference.values.mnist.bp': expected a number of percent points between 0 and 100, got 'low'"},
                {"bp: 1.5", "bp: 150", "key 'reference.values.mnist.bp': expected a number of percent points"},
                {"tolerance: {mnist: 0.1}", "tolerance: {fashion-mnist: 0.1}", "key 'reference.tolerance': expected a dataset of reference.values (mnist), got 'fashion-mnist'"},
                {"tolerance: {mnist: 0.1}", "tolerance: 0.1", "key 'reference.tolerance': expected a mapping dataset → points"},
        };
        for (String[] b : bad) {
            String yaml = GRID + REFERENCE.replace(b[0], b[1]);
            assertNotEquals(GRID + REFERENCE, yaml, "the case changes the block: " + b[0]);
            GridFileException e = assertThrows(GridFileException.class, () -> GridSpec.parse(yaml, "t.yaml"), b[2]);
            assertTrue(e.getMessage().startsWith("t.yaml: "), e.getMessage());
            assertTrue(e.getMessage().contains(b[2]), e.getMessage() + " should contain " + b[2]);
        }
        GridFileException e = assertThrows(GridFileException.class,
                () -> GridSpec.parse(GRID + "reference: [1, 2]\n", "t.yaml"));
        assertTrue(e.getMessage().contains("key 'reference': expected a mapping"), e.getMessage());
    }

    @Test
    void verdictsFromFewerThanThreeSeedsAreMarkedWeak() {
        List<CellResult> rs = new ArrayList<>();
        for (String f : List.of("bp", "usf", "brsf", "frsf"))
            for (long seed = 1; seed <= 3; seed++) rs.add(Synthetic.ok(cell("d", f, "bn", seed), 1.0 + 0.01 * seed));
        Findings.Verdict firm = claim3(new Findings(Group.of(rs)).evaluate());
        assertEquals(Findings.Outcome.HOLDS, firm.outcome());
        assertEquals(3, firm.seeds());
        assertFalse(firm.weak());
        assertEquals("holds", firm.text());

        rs.removeIf(r -> r.cell().feedback().equals("usf") && r.cell().seed() == 3);
        Findings f = new Findings(Group.of(rs));
        Findings.Verdict weak = claim3(f.evaluate());
        assertEquals(Findings.Outcome.HOLDS, weak.outcome(), "the outcome itself does not change");
        assertEquals(2, weak.seeds(), "the fewest seeds among the groups compared");
        assertTrue(weak.weak());
        assertTrue(f.markdown().contains("- **d, lenet: holds (weak: 2 seeds)**"), f.markdown());
        // a diverged seed is an outcome: it counts
        rs.add(Synthetic.diverged(cell("d", "usf", "bn", 3)));
        assertEquals(3, claim3(new Findings(Group.of(rs)).evaluate()).seeds());
        // untested verdicts are not "weak": nothing was decided
        Findings.Verdict untested = new Findings(Group.of(rs)).evaluate().stream()
                .filter(v -> v.claim() == 4).findFirst().orElseThrow();
        assertEquals(Findings.Outcome.UNTESTED, untested.outcome());
        assertFalse(untested.weak());
    }

    private static Findings.Verdict claim3(List<Findings.Verdict> vs) {
        return vs.stream().filter(v -> v.claim() == 3).findFirst().orElseThrow();
    }

    @Test
    void tickLabelsCarryNoFloatNoise() {
        assertEquals("15.74", Plots.tick(15.739999999999998));
        assertEquals("0.3", Plots.tick(0.1 + 0.2));
        assertEquals("20", Plots.tick(20.0));
        assertEquals("0", Plots.tick(0.0));
        assertEquals("0.0001", Plots.tick(1e-4));
        assertEquals("-2.5", Plots.tick(-2.5));
        assertEquals("1200000", Plots.tick(1.2e6));
        assertEquals("", Plots.tick(Double.NaN));
        // and on random tick-like values: a multiple of a step never shows more digits than step and value need
        long seed = Long.getLong("asymbp.seed", System.nanoTime() & 0xffffff);
        System.out.println("GridReportResultsTest seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        Random rnd = new Random(seed);
        double[] steps = {0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5};
        for (int i = 0; i < 1000; i++) {
            double step = steps[rnd.nextInt(steps.length)];
            int k = rnd.nextInt(4000) - 2000;
            String t = Plots.tick(k * step);
            assertEquals(k * step, Double.parseDouble(t), Math.abs(k * step) * 1e-6, t);
            String frac = t.contains(".") ? t.substring(t.indexOf('.') + 1) : "";
            assertTrue(frac.length() <= 2, "tick " + (k * step) + " → " + t);
        }
    }

    @Test
    void psfLevelsShareOneHueAndDarkenWithP() {
        float[] prev = null;
        for (String p : List.of("psf:0", "psf:0.25", "psf:0.5", "psf:0.75")) {
            Color c = Plots.colour(p);
            float[] hsb = Color.RGBtoHSB(c.getRed(), c.getGreen(), c.getBlue(), null);
            if (prev != null) {
                assertEquals(prev[0], hsb[0], 0.02, "one hue: " + p);
                assertTrue(hsb[2] < prev[2], "darker as p rises: " + p);
            }
            prev = hsb;
        }
        assertNotEquals(Plots.colour("frsf"), Plots.colour("psf:1"));
        assertEquals(Plots.colour("usf"), Plots.colour("usf (diverged)"), "one colour per mode, whatever the label");
    }

    @Test
    void panelsOfARowShareOneYRangeAndHaveNoLegendOfTheirOwn() {
        XYChart a = Plots.panel("a", "epoch", "err"), b = Plots.panel("b", "epoch", "err");
        Plots.addSeries(a, "bp", List.of(new double[] {1, 2.0}, new double[] {2, 3.0}), true);
        Plots.addSeries(b, "usf", List.of(new double[] {1, 5.0}, new double[] {2, 4.0}), true);
        Plots.shareY(List.of(a, b), Double.POSITIVE_INFINITY, null);
        assertEquals(a.getStyler().getYAxisMin(), b.getStyler().getYAxisMin());
        assertEquals(a.getStyler().getYAxisMax(), b.getStyler().getYAxisMax());
        assertTrue(a.getStyler().getYAxisMin() <= 2.0 && a.getStyler().getYAxisMax() >= 5.0);
        assertFalse(a.getStyler().isLegendVisible() || b.getStyler().isLegendVisible());
        Plots.addSeries(b, "psf:0", List.of(new double[] {1, 80.0}), true);
        Plots.shareY(List.of(a, b), Plots.LOG_ABOVE, null);
        assertTrue(a.getStyler().isYAxisLogarithmic() && b.getStyler().isYAxisLogarithmic(), "a span over 10× logs the row");
    }
}
