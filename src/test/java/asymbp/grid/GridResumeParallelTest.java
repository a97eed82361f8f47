package asymbp.grid;

import asymbp.cli.Main;
import asymbp.io.FolderLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * On the real engine (cpu backend): a cell killed part way resumes from its last epoch and ends bit for
 * bit as an uninterrupted one; --parallel 2 writes the same results as --parallel 1, cell for cell; a
 * second driver on a locked output folder is refused with one line.
 */
class GridResumeParallelTest {

    /** A fresh training seed per run, or -Dasymbp.seed=N to replay a printed one. */
    private static long seed(String what) {
        long s = Long.getLong("asymbp.seed", ThreadLocalRandom.current().nextLong(1, 1 << 20));
        System.out.println(what + ": training seed " + s + " (replay with -Dasymbp.seed=" + s + ")");
        return s;
    }

    private static String grid(long seed, String feedback, String stabilisers, int epochs) {
        return String.join("\n",
                "datasets: [mnist]",
                "models: ['mlp:16']",
                "feedback: " + feedback,
                "stabilisers: " + stabilisers,
                "seeds: [" + seed + "]",
                "epochs: " + epochs,
                "batch: 32",
                "lr: {sgd: [0.02, 0.05], bm: 0.001}",
                "momentum: 0.9",
                "limit: 3200",
                "backend: cpu",
                "");
    }

    /** A result with its timings and time stamp blanked: what two runs of one cell must agree on. */
    static CellResult timeless(CellResult r) {
        List<CellResult.EpochRecord> ep = new ArrayList<>();
        for (CellResult.EpochRecord e : r.epochs())
            ep.add(new CellResult.EpochRecord(e.epoch(), e.trainLoss(), e.trainError(), e.testError(), e.lr(), 0));
        return new CellResult(r.cell(), r.status(), r.message(), r.testError(), ep, r.lossTrace(), r.alignment(), 0,
                r.device(), null);
    }

    @Test
    void killedCellResumesFromItsLastEpochBitForBit(@TempDir Path dir) throws Exception {
        GridSpec g = GridSpec.parse(grid(seed("resume"), "[brsf]", "[bn+bm]", 3), "resume.yaml");
        assertEquals(1, g.cells().size());
        CellSpec cell = g.cells().get(0);
        List<String> log = new ArrayList<>();

        Path whole = dir.resolve("whole");
        try (TrainerCellRunner r = new TrainerCellRunner()) {
            assertEquals(1, new GridRunner(r, log::add).run(g, whole).ok());
        }
        CellResult uninterrupted = new ResultStore(whole).read(cell).orElseThrow();
        assertTrue(log.stream().anyMatch(l -> l.matches(".*: [1-9][0-9]* steps through the backend's StepReplay, [0-9]+ eager")),
                "the cell ran through the Trainer's replay loop: " + log);
        assertFalse(Files.exists(GridRunner.workDir(whole, cell)), "a finished cell's work folder is removed");

        Path killed = dir.resolve("killed");
        boolean[] slept = {false};
        try (TrainerCellRunner r = new TrainerCellRunner()) {
            r.interrupt = (epoch, stepInEpoch, n, loss, images) -> {
                // a slow first invocation, so its wall time cannot pass for the resume's overhead
                if (epoch == 0 && !slept[0]) {
                    slept[0] = true;
                    try {
                        Thread.sleep(2000);
                    } catch (InterruptedException e) {
                        throw new IllegalStateException(e);
                    }
                }
                if (epoch == 1 && stepInEpoch >= 40) throw new IllegalStateException("killed in epoch 2");
            };
            GridRunner.Summary s = new GridRunner(r, log::add).run(g, killed);
            assertEquals(1, s.failed());
        }
        assertTrue(new ResultStore(killed).read(cell).orElseThrow().message().contains("killed in epoch 2"));
        assertTrue(Files.isRegularFile(GridRunner.workDir(killed, cell).resolve(asymbp.train.Checkpoint.FILE)),
                "the first epoch's checkpoint is kept for the resume");
        Double firstWall = asymbp.train.Checkpoint.readHeader(GridRunner.workDir(killed, cell).resolve(asymbp.train.Checkpoint.FILE))
                .wallSeconds();
        assertTrue(firstWall != null && firstWall >= 2.0, "the killed invocation's wall time up to epoch 1: " + firstWall);
        log.clear();
        try (TrainerCellRunner r = new TrainerCellRunner()) {
            assertEquals(1, new GridRunner(r, log::add).run(g, killed).ok());
        }
        assertTrue(log.stream().anyMatch(l -> l.contains("resuming after epoch 1")), "resumed, not restarted: " + log);
        CellResult resumed = new ResultStore(killed).read(cell).orElseThrow();
        assertEquals(3, resumed.epochs().size());
        double laterEpochs = resumed.epochs().stream().skip(1).mapToDouble(CellResult.EpochRecord::seconds).sum();
        assertTrue(resumed.wallSeconds() >= firstWall + laterEpochs, "the cell's wall time " + resumed.wallSeconds()
                + " s counts the killed invocation's " + firstWall + " s and epochs 2-3's " + laterEpochs + " s");
        assertEquals(timeless(uninterrupted), timeless(resumed),
                "test errors, losses, loss trace and alignment angles equal the uninterrupted run's bit for bit");
    }

    @Test
    void divergedCellIsAResultNamingItsStep(@TempDir Path dir) throws Exception {
        GridSpec g = GridSpec.parse(String.join("\n", "datasets: [mnist]", "models: ['mlp:16']", "feedback: [usf]",
                "stabilisers: [none]", "seeds: [1]", "epochs: 2", "batch: 32", "lr: 50", "momentum: 0.9",
                "limit: 640", "backend: cpu", ""), "div.yaml");
        try (TrainerCellRunner r = new TrainerCellRunner()) {
            assertEquals(1, new GridRunner(r, line -> {}).run(g, dir).diverged());
        }
        CellSpec cell = g.cells().get(0);
        CellResult res = new ResultStore(dir).read(cell).orElseThrow();
        assertTrue(res.diverged(), res.toString());
        assertTrue(res.message().matches("loss .* at step \\d+ \\(epoch 1; bound .*\\)"), res.message());
        assertNull(res.testError());
        assertFalse(Files.exists(GridRunner.workDir(dir, cell)), "a diverged cell is finished: no work folder kept");
    }

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int cli(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void parallelCellsEqualOneAtATimeCellForCell(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("p.yaml");
        Files.writeString(f, grid(seed("parallel"), "[bp, brsf]", "[none, bn+bm]", 2));
        Path one = dir.resolve("one"), two = dir.resolve("two");
        assertEquals(Main.OK, cli("grid", "run", f.toString(), "--out", one.toString(), "--parallel", "1",
                "--cpu-threads", "1", "--no-report"), err.toString());
        assertEquals(Main.OK, cli("grid", "run", f.toString(), "--out", two.toString(), "--parallel", "2",
                "--cpu-threads", "1", "--no-report"), err.toString());
        GridSpec g = GridSpec.load(f);
        assertEquals(6, g.cells().size(), "2 feedback x (none: 2 learning rates + bn+bm: 1)");
        for (CellSpec c : g.cells()) {
            CellResult a = new ResultStore(one).read(c).orElseThrow(), b = new ResultStore(two).read(c).orElseThrow();
            assertTrue(a.ok() || a.diverged(), a.toString());
            assertTrue(a.device().contains("1 thread"), a.device());
            assertEquals(timeless(a), timeless(b), c.id());
        }
        assertNull(System.getProperty(GridCommand.CPU_THREADS), "--cpu-threads does not outlive the command");
    }

    @Test
    void secondDriverOnALockedFolderIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("l.yaml");
        Files.writeString(f, grid(1, "[bp]", "[bn]", 1));
        Path o = dir.resolve("o");
        try (FolderLock held = FolderLock.acquire(o, "grid run (another driver)")) {
            assertEquals(Main.FAILED, cli("grid", "run", f.toString(), "--out", o.toString()));
        }
        String e = err.toString().strip();
        assertFalse(e.contains("\n"), "one line: " + e);
        assertTrue(e.contains(o.toString()) && e.contains("in use"), e);
        assertFalse(Files.exists(o.resolve("cells")), "no cell ran");
    }
}
