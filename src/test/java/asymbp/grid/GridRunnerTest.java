package asymbp.grid;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

class GridRunnerTest {

    static final String GRID = String.join("\n",
            "datasets: [mnist]",
            "models: [lenet]",
            "feedback: [bp, usf, frsf]",
            "stabilisers: [none, bn]",
            "seeds: [1, 2]",
            "epochs: 1",
            "lr: 0.01",
            "");

    /** Records the cells it ran; "usf none" diverges; cells in {@code throwing} throw. */
    static final class Fake implements CellRunner {
        final List<String> ran = new ArrayList<>();
        final List<String> throwing = new ArrayList<>();

        @Override public CellResult run(CellSpec cell, Consumer<String> log) {
            ran.add(cell.id());
            if (throwing.contains(cell.id())) throw new IllegalStateException("boom in " + cell.id());
            if (cell.feedback().equals("usf") && cell.stabiliser().equals("none")) return Synthetic.diverged(cell);
            return Synthetic.ok(cell, 1.0 + cell.seed());
        }
    }

    private static GridRunner.Summary run(Fake fake, Path out, List<String> log) throws Exception {
        return new GridRunner(fake, log::add).run(GridSpec.parse(GRID, "t.yaml"), out);
    }

    @Test
    void finishedCellsAreSkippedOnRerun(@TempDir Path out) throws Exception {
        Fake first = new Fake();
        List<String> log = new ArrayList<>();
        GridRunner.Summary s = run(first, out, log);
        assertEquals(12, first.ran.size());
        assertEquals(new GridRunner.Summary(12, 0, 10, 2, 0, s.seconds()), s);
        assertTrue(log.stream().anyMatch(l -> l.startsWith("[12/12]") && l.contains("left")), "progress lines with time left: " + log);
        try (var files = Files.list(out.resolve("cells"))) {
            assertEquals(12, files.filter(f -> f.toString().endsWith(".json")).count());
        }
        Fake second = new Fake();
        s = run(second, out, new ArrayList<>());
        assertEquals(List.of(), second.ran, "nothing to redo, diverged cells included");
        assertEquals(12, s.skipped());
    }

    @Test
    void partiallyWrittenCellIsRedone(@TempDir Path out) throws Exception {
        run(new Fake(), out, new ArrayList<>());
        GridSpec g = GridSpec.parse(GRID, "t.yaml");
        CellSpec victim = g.cells().get(3);
        ResultStore store = new ResultStore(out);
        Path f = store.file(victim);
        String whole = Files.readString(f);
        Files.writeString(f, whole.substring(0, whole.length() / 2));   // as if the machine died mid-write
        Files.writeString(out.resolve("cells").resolve(victim.id() + ".json.tmp"), "{");
        Fake again = new Fake();
        run(again, out, new ArrayList<>());
        assertEquals(List.of(victim.id()), again.ran);
        assertTrue(store.read(victim).orElseThrow().ok());
    }

    @Test
    void changedSettingsAreRunAgain(@TempDir Path out) throws Exception {
        run(new Fake(), out, new ArrayList<>());
        Fake again = new Fake();
        new GridRunner(again, l -> {}).run(GridSpec.parse(GRID.replace("epochs: 1", "epochs: 2"), "t.yaml"), out);
        assertEquals(12, again.ran.size());
    }

    @Test
    void aFailingCellIsRecordedAndTheOthersRun(@TempDir Path out) throws Exception {
        GridSpec g = GridSpec.parse(GRID, "t.yaml");
        Fake fake = new Fake();
        String bad = g.cells().get(2).id();
        fake.throwing.add(bad);
        List<String> log = new ArrayList<>();
        GridRunner.Summary s = run(fake, out, log);
        assertEquals(12, fake.ran.size(), "every cell ran");
        assertEquals(1, s.failed());
        CellResult r = new ResultStore(out).read(g.cells().get(2)).orElseThrow();
        assertTrue(r.failed());
        assertEquals("IllegalStateException: boom in " + bad, r.message());
        assertTrue(log.stream().anyMatch(l -> l.contains("FAILED: IllegalStateException: boom")), log.toString());
        // A failed cell is tried again on the next run; the finished ones are not.
        Fake retry = new Fake();
        run(retry, out, new ArrayList<>());
        assertEquals(List.of(bad), retry.ran);
        assertTrue(new ResultStore(out).read(g.cells().get(2)).orElseThrow().ok());
    }

    @Test
    void resultFileRoundTrips(@TempDir Path out) throws Exception {
        ResultStore store = new ResultStore(out);
        CellResult r = Synthetic.ok(Synthetic.cell("mnist", "psf:0.25", "bn+bm", 7), 2.5);
        store.write(r);
        assertEquals(r, store.read(r.cell()).orElseThrow());
        assertFalse(Files.exists(out.resolve("cells").resolve(r.cell().id() + ".json.tmp")));
    }

    @Test
    void aResultThatCannotBeWrittenLeavesNoTemporaryFileAndNamesTheFile(@TempDir Path out) throws Exception {
        ResultStore store = new ResultStore(out);
        CellResult r = Synthetic.ok(Synthetic.cell("mnist", "bp", "bn", 3), 1.5);
        // The cell's file cannot be replaced: a folder with something in it stands where it goes.
        Files.createDirectories(store.file(r.cell()));
        Files.writeString(store.file(r.cell()).resolve("x"), "x");
        java.io.IOException e = assertThrows(java.io.IOException.class, () -> store.write(r));
        assertTrue(e.getMessage().contains(store.file(r.cell()).toString()), e.getMessage());
        assertFalse(Files.exists(out.resolve("cells").resolve(r.cell().id() + ".json.tmp")),
                "a failed write leaves no temporary file (AtomicFiles)");
    }

    @Test
    void aWorkFolderIsKeptOnlyWhileItHoldsACheckpointToResume(@TempDir Path out) throws Exception {
        CellSpec cell = Synthetic.cell("mnist", "bp", "bn", 4);
        Path work = GridRunner.workDir(out, cell);
        CellResult failed = CellResult.failed(cell, "killed", 1, "now");
        Files.createDirectories(work.resolve("weights"));
        Files.writeString(work.resolve(asymbp.train.Checkpoint.FILE), "c");
        GridRunner.clearWork(work, failed);
        assertTrue(Files.exists(work.resolve(asymbp.train.Checkpoint.FILE)), "an unfinished cell resumes from here");
        for (CellResult finished : List.of(Synthetic.ok(cell, 1), Synthetic.diverged(cell))) {
            Files.createDirectories(work.resolve("weights"));
            Files.writeString(work.resolve(asymbp.train.Checkpoint.FILE), "c");
            GridRunner.clearWork(work, finished);
            assertFalse(Files.exists(work), finished.status() + ": nothing to resume");
        }
        Files.createDirectories(work);
        Files.writeString(work.resolve("trace.tsv"), "t");
        GridRunner.clearWork(work, failed);
        assertFalse(Files.exists(work), "failed before its first checkpoint: nothing to resume");
        assertTrue(Files.isDirectory(work.getParent()), "the work/ folder itself is the caller's (other cells may be in it)");
    }
}
