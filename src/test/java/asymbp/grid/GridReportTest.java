package asymbp.grid;

import asymbp.grid.Findings.Outcome;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static asymbp.grid.Synthetic.cell;
import static org.junit.jupiter.api.Assertions.*;

class GridReportTest {

    private final List<CellResult> results = new ArrayList<>();

    private void ok(String d, String f, String s, double e1, double e2) {
        results.add(Synthetic.ok(cell(d, f, s, 1), e1));
        results.add(Synthetic.ok(cell(d, f, s, 2), e2));
    }

    private void diverged(String d, String f, String s, int seeds) {
        results.add(Synthetic.diverged(cell(d, f, s, 1)));
        if (seeds == 2) results.add(Synthetic.diverged(cell(d, f, s, 2)));
        else results.add(Synthetic.ok(cell(d, f, s, 2), 3.0));
    }

    /** "good": every claim holds. "bad": none does. */
    private void build() {
        ok("good", "bp", "bn", 0.95, 1.05);
        ok("good", "usf", "bn", 1.02, 1.08);
        ok("good", "brsf", "bn", 1.00, 1.10);
        ok("good", "frsf", "bn", 0.98, 1.04);
        ok("good", "fa", "bn", 2.0, 2.2);
        ok("good", "psf:0", "bn", 88, 90);
        ok("good", "psf:0.25", "bn", 20, 22);
        ok("good", "psf:0.5", "bn", 5, 6);
        ok("good", "psf:0.75", "bn", 1.5, 1.6);
        ok("good", "bp", "none", 2.0, 2.1);
        diverged("good", "usf", "none", 2);
        diverged("good", "brsf", "none", 1);
        ok("good", "frsf", "none", 2.2, 2.4);

        ok("bad", "bp", "bn", 1.0, 1.02);
        ok("bad", "usf", "bn", 3.0, 3.1);
        ok("bad", "brsf", "bn", 1.0, 1.01);
        ok("bad", "frsf", "bn", 1.0, 1.02);
        ok("bad", "psf:0", "bn", 1.0, 1.01);
        ok("bad", "psf:0.25", "bn", 1.0, 1.02);
        ok("bad", "psf:0.5", "bn", 1.0, 1.0);
        ok("bad", "psf:0.75", "bn", 1.0, 1.01);
        ok("bad", "bp", "none", 2.0, 2.1);
        ok("bad", "usf", "none", 2.05, 2.1);
        ok("bad", "brsf", "none", 2.1, 2.15);
        diverged("bad", "fa", "none", 1);
    }

    private static Outcome outcome(List<Findings.Verdict> vs, int claim, String dataset) {
        return vs.stream().filter(v -> v.claim() == claim && v.dataset().equals(dataset)).findFirst().orElseThrow().outcome();
    }

    @Test
    void findingsDecideEachClaimOnConstructedData() {
        build();
        List<Findings.Verdict> vs = new Findings(Group.of(results)).evaluate();
        for (int c = 1; c <= 4; c++) {
            assertEquals(Outcome.HOLDS, outcome(vs, c, "good"), "claim " + c + " on good: " + vs);
            assertEquals(Outcome.FAILS, outcome(vs, c, "bad"), "claim " + c + " on bad: " + vs);
        }
    }

    @Test
    void findingsReportPartlyInconclusiveAndUntested() {
        build();
        // a second stabilised setting where magnitudes do matter: claim 1 holds in bn only
        ok("good", "usf", "bm", 1.0, 1.0);
        ok("good", "brsf", "bm", 5.0, 5.1);
        ok("good", "frsf", "bm", 1.0, 1.02);
        // bp itself diverging without a stabiliser makes claim 4 undecidable
        results.removeIf(r -> r.cell().dataset().equals("bad") && r.cell().feedback().equals("bp")
                && r.cell().stabiliser().equals("none"));
        diverged("bad", "bp", "none", 2);
        ok("other", "bp", "bn", 1, 1);
        List<Findings.Verdict> vs = new Findings(Group.of(results)).evaluate();
        assertEquals(Outcome.PARTLY, outcome(vs, 1, "good"));
        assertEquals(Outcome.INCONCLUSIVE, outcome(vs, 4, "bad"));
        assertEquals(Outcome.UNTESTED, outcome(vs, 1, "other"));
        assertEquals(Outcome.UNTESTED, outcome(vs, 2, "other"));
        assertEquals(Outcome.UNTESTED, outcome(vs, 4, "other"));
    }

    @Test
    void marginUsesSeedNoiseAndRelativeFloor() {
        Group a = Group.of(List.of(Synthetic.ok(cell("d", "bp", "bn", 1), 1.0), Synthetic.ok(cell("d", "bp", "bn", 2), 3.0)))
                .values().iterator().next();
        assertEquals(Math.sqrt(2), a.sd(), 1e-12);
        assertEquals(2 * Math.sqrt(2), Findings.margin(a), 1e-12);
        Group b = Group.of(List.of(Synthetic.ok(cell("d", "bp", "bn", 1), 10.0), Synthetic.ok(cell("d", "bp", "bn", 2), 10.0)))
                .values().iterator().next();
        assertEquals(1.0, Findings.margin(b), 1e-12, "10% of the error when the seeds agree");
    }

    @Test
    void reportWritesCsvMarkdownPngsAndFindings(@TempDir Path dir) throws Exception {
        build();
        ResultStore store = new ResultStore(dir);
        for (CellResult r : results) store.write(r);
        results.add(CellResult.failed(cell("good", "fa", "none", 1), "DatasetException: good: no such file", 0.1, "now"));
        store.write(results.get(results.size() - 1));
        Files.writeString(store.dir().resolve("junk.json"), "{ not json");
        List<String> warnings = new ArrayList<>();
        GridReport.Written w = new GridReport(warnings::add).write(dir);
        assertEquals(results.size(), w.cells());
        assertTrue(warnings.stream().anyMatch(s -> s.contains("junk.json")), warnings.toString());

        assertEquals(String.join(",", GridReport.RESULT_COLUMNS), Files.readAllLines(dir.resolve("results.csv")).get(0));
        assertEquals(results.size() + 1, Files.readAllLines(dir.resolve("results.csv")).size());
        List<String> csv = Files.readAllLines(dir.resolve("cells.csv"));
        assertEquals(String.join(",", GridReport.CSV_COLUMNS), csv.get(0));
        assertEquals(results.size() + 1, csv.size());
        int statusCol = GridReport.CSV_COLUMNS.indexOf("status"), errCol = GridReport.CSV_COLUMNS.indexOf("test_error");
        String bpRow = csv.stream().filter(l -> l.startsWith("good__lenet__bp__bn__s1,")).findFirst().orElseThrow();
        assertEquals("ok", bpRow.split(",")[statusCol]);
        assertEquals("0.95", bpRow.split(",")[errCol]);
        String divRow = csv.stream().filter(l -> l.startsWith("good__lenet__usf__none__s1,")).findFirst().orElseThrow();
        assertEquals("diverged", divRow.split(",")[statusCol]);
        assertEquals("", divRow.split(",", -1)[errCol], "a diverged cell has no number");

        String md = Files.readString(dir.resolve("results.md"));
        assertTrue(md.contains("| bp | 2.05 ± 0.07 | 1.00 ± 0.07 |"), md);
        assertTrue(md.contains("| usf | diverged (2/2 seeds) | 1.05 ± 0.04 |"), md);
        assertTrue(md.contains("| brsf | diverged (1/2 seeds) |"), "one of two seeds diverged is still marked: " + md);
        assertTrue(md.contains("| fa | diverged (1/2 seeds) | — |"), md);
        assertTrue(md.contains("| fa | failed (1/1 seeds) | 2.10 ± 0.14 |"), md);
        assertTrue(md.contains("DatasetException: good: no such file"), md);
        assertTrue(md.contains("## Findings"), md);
        assertTrue(md.contains(Findings.RULE), "the rule is stated");
        assertTrue(md.contains("**good, lenet: holds (weak: 2 seeds)**") && md.contains("**bad, lenet: does not hold (weak: 2 seeds)**"), md);
        assertEquals(new Findings(Group.of(results)).markdown(), Files.readString(dir.resolve("findings.md")));

        for (String png : List.of("curves-good-lenet.png", "curves-bad-lenet.png", "alignment-good-lenet-bn.png",
                "alignment-good-lenet-none.png", "alignment-bad-lenet-bn.png")) {
            Path p = dir.resolve(png);
            assertTrue(Files.isRegularFile(p), png + " written");
            byte[] b = Files.readAllBytes(p);
            assertTrue(b.length > 5000, png + " is a real image (" + b.length + " bytes)");
            assertEquals((byte) 0x89, b[0]);
            assertEquals('P', b[1]);
            assertEquals('N', b[2]);
            assertEquals('G', b[3]);
            assertTrue(md.contains("](" + png + ")"), "results.md links " + png);
        }
    }

    @Test
    void summedWallTimeNamesCellsWhoseWallIsShorterThanTheirTraining() {
        CellResult whole = Synthetic.ok(cell("mnist", "bp", "bn", 1), 1.0); // 2 epochs of 1 s, wall 3.5 s
        CellResult old = Synthetic.ok(cell("mnist", "usf", "bn", 1), 1.2);
        CellResult lastInvocationOnly = new CellResult(old.cell(), old.status(), null, old.testError(), old.epochs(),
                old.lossTrace(), old.alignment(), 0.4, old.device(), old.finishedAt());
        String fine = new GridReport(line -> {}).markdown(Path.of("g"), List.of(whole), Group.of(List.of(whole)), List.of(),
                new Findings(Group.of(List.of(whole))), null);
        assertTrue(fine.contains("Summed cell wall time 4s.") && !fine.contains("too short"), fine);
        List<CellResult> both = List.of(whole, lastInvocationOnly);
        String flagged = new GridReport(line -> {}).markdown(Path.of("g"), both, Group.of(both), List.of(),
                new Findings(Group.of(both)), null);
        assertTrue(flagged.contains("too short: 1 cell(s) resumed by an asymbp before 2026-12-06")
                && flagged.contains("(" + old.cell().id() + "; their epochs' training time alone sums to 2s)"), flagged);
    }

    @Test
    void emptyRunDirectoryIsAClearError(@TempDir Path dir) {
        GridFileException e = assertThrows(GridFileException.class, () -> new GridReport(s -> {}).write(dir));
        assertTrue(e.getMessage().contains("no cell results"), e.getMessage());
    }

    @Test
    void groupTextNeverShowsNumbersForDivergence() {
        Map<String, Group> g = Group.of(List.of(Synthetic.ok(cell("d", "usf", "none", 1), 2.0),
                Synthetic.diverged(cell("d", "usf", "none", 2))));
        assertEquals("diverged (1/2 seeds)", g.values().iterator().next().cellText());
    }

    @Test
    void findingsCallAGroupWithoutOutcomeUnfinishedNotFailed() {
        CellResult notYet = new CellResult(cell("d", "frsf", "bn+bm", 1), CellResult.UNFINISHED, "no result yet", null,
                List.of(), List.of(), List.of(), 0, null, null);
        CellResult failed = CellResult.failed(cell("d", "frsf", "bn+bm", 2), "DatasetException: d: no such file", 0.1, "now");
        assertEquals("unfinished", Findings.fmt(new Group("d", "lenet", "frsf", "bn+bm", List.of(notYet))));
        assertEquals("failed", Findings.fmt(new Group("d", "lenet", "frsf", "bn+bm", List.of(notYet, failed))));
        assertEquals("missing", Findings.fmt(null));
    }

    @Test
    void findingsWriteOnlyTheClaimsTheGridsModesCanTest() {
        List<CellResult> faDfa = List.of(Synthetic.ok(cell("d", "fa", "none", 1), 13.0), Synthetic.ok(cell("d", "dfa", "none", 1), 12.0));
        String none = new Findings(Group.of(faDfa)).markdown();
        assertTrue(none.contains("This grid tests none of them: they compare bp, usf, brsf, frsf and psf (claims 1–3 with a "
                + "stabiliser, claim 4 without), and it runs dfa, fa with none."), none);
        assertFalse(none.contains("### Claim"), none);
        // bp and usf with and without a stabiliser: claims 3 and 4 only
        List<CellResult> bpUsf = List.of(Synthetic.ok(cell("d", "bp", "bn+bm", 1), 1.0), Synthetic.ok(cell("d", "usf", "bn+bm", 1), 1.05),
                Synthetic.ok(cell("d", "bp", "none", 1), 1.0), Synthetic.ok(cell("d", "usf", "none", 1), 9.0));
        String two = new Findings(Group.of(bpUsf)).markdown();
        assertTrue(two.contains("### Claim 3") && two.contains("### Claim 4"), two);
        assertFalse(two.contains("### Claim 1") || two.contains("### Claim 2"), two);
        assertTrue(two.contains("Not tested here, the grid lacking the modes or stabilisers they compare: claims 1, 2."), two);
        // the same modes with a stabiliser only: claim 4 (plain SGD) goes too
        String one = new Findings(Group.of(bpUsf.subList(0, 2))).markdown();
        assertTrue(one.contains("### Claim 3") && !one.contains("### Claim 4"), one);
        assertTrue(one.contains("claims 1, 2, 4."), one);
        // each claim's own condition
        Set<String> bn = Set.of("bn"), sgd = Set.of("none");
        assertTrue(Findings.applicable(1, Set.of("usf", "frsf"), bn));
        assertFalse(Findings.applicable(1, Set.of("usf", "frsf"), sgd), "claims 1-3 compare stabilised settings");
        assertFalse(Findings.applicable(1, Set.of("bp", "usf"), bn));
        assertTrue(Findings.applicable(2, Set.of("psf:0.5"), Set.of("bm", "none")));
        assertFalse(Findings.applicable(2, Set.of("usf", "brsf", "frsf", "bp"), bn));
        assertTrue(Findings.applicable(3, Set.of("bp", "frsf"), Set.of("bn+bm")));
        assertFalse(Findings.applicable(3, Set.of("usf", "frsf"), bn));
        assertFalse(Findings.applicable(4, Set.of("bp", "frsf"), sgd), "claim 4 is about usf and brsf");
        assertTrue(Findings.applicable(4, Set.of("bp", "brsf"), sgd));
        assertFalse(Findings.applicable(4, Set.of("bp", "brsf"), bn), "claim 4 is about plain SGD");
        assertFalse(Findings.applicable(4, Set.of("brsf"), sgd));
    }
}
