package asymbp.grid;

import asymbp.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The command line end to end, on the real engine and the cpu backend, with a tiny grid. */
class GridCommandTest {

    private final StringWriter out = new StringWriter(), err = new StringWriter();

    private int run(String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    void gridIsASubcommandOfMain() {
        assertTrue(Main.commandLine().getSubcommands().containsKey("grid"));
    }

    @Test
    void badGridFileExitsWithUsageAndNamesFileKeyValue(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, GridSpecTest.GOOD.replace("stabilisers: [none, bn, bm, bn+bm]", "stabilisers: [none, bs]"));
        assertEquals(Main.USAGE, run("grid", "run", f.toString(), "--out", dir.resolve("o").toString()));
        String e = err.toString();
        assertTrue(e.contains(f.toString()) && e.contains("key 'stabilisers'") && e.contains("'bs'"), e);
        assertFalse(e.contains("\tat "), "no stack trace: " + e);
        assertFalse(Files.exists(dir.resolve("o")), "nothing was run");
    }

    @Test
    void parallelBelowOneIsAUsageErrorBeforeTheFolderIsTouched(@TempDir Path dir) throws Exception {
        Path f = Files.writeString(dir.resolve("g.yaml"), GridSpecTest.GOOD);
        assertEquals(Main.USAGE, run("grid", "run", f.toString(), "--parallel", "0", "--out", dir.resolve("o").toString()));
        assertEquals("error: --parallel 0: must be at least 1", err.toString().strip());
        assertFalse(Files.exists(dir.resolve("o")), "nothing was created");
    }

    @Test
    void reportOfAnEmptyDirectoryIsAClearError(@TempDir Path dir) {
        assertEquals(Main.FAILED, run("grid", "report", dir.toString()));
        assertTrue(err.toString().contains("no cell results"), err.toString());
        assertEquals(Main.USAGE, run("grid", "report", dir.resolve("missing").toString()));
        // --compact-cells runs first (nothing to compact), then the same error
        assertEquals(Main.FAILED, run("grid", "report", "--compact-cells", dir.toString()));
        assertTrue(out.toString().contains("0 cell files compacted"), out.toString());
    }

    @Test
    void tinyGridRunsOnTheEngineResumesAndReports(@TempDir Path dir) throws Exception {
        Path f = dir.resolve("tiny.yaml");
        Files.writeString(f, String.join("\n",
                "datasets: [mnist, 'idx:/nonexistent/dir']",
                "models: ['mlp:16']",
                "feedback: [bp, usf]",
                "stabilisers: [bn, bm]",
                "seeds: [3]",
                "epochs: 2",
                "batch: 32",
                "lr: {sgd: 0.05, bm: 0.001}",
                "momentum: 0.9",
                "limit: 320",
                "backend: cpu",
                ""));
        Path o = dir.resolve("run");
        long t0 = System.nanoTime();
        int rc = run("grid", "run", f.toString(), "--out", o.toString());
        System.out.println("tiny grid: " + (System.nanoTime() - t0) / 1e9 + " s\n" + out);
        assertEquals(Main.FAILED, rc, "the missing dataset's cells failed, so the exit status says so");
        ResultStore store = new ResultStore(o);
        List<CellResult> rs = store.readAll(s -> fail(s));
        assertEquals(8, rs.size());
        for (CellResult r : rs) {
            if (r.cell().dataset().startsWith("idx:")) {
                assertTrue(r.failed(), r.toString());
                assertTrue(r.message().contains("/nonexistent/dir"), r.message());
                continue;
            }
            assertTrue(r.ok(), r.toString());
            assertEquals(2, r.epochs().size());
            assertTrue(r.testError() > 0 && r.testError() < 60, "learns something: " + r.testError());
            assertTrue(r.lossTrace().size() >= 2);
            for (CellResult.TracePoint tp : r.lossTrace())
                assertTrue(tp.epoch() > 0 && tp.epoch() <= 2, "trace points lie inside the run: " + tp);
            double firstEpochMean = r.epochs().get(0).trainLoss();
            assertTrue(r.lossTrace().stream().filter(tp -> tp.epoch() <= 1).count() >= 2
                    && r.lossTrace().stream().anyMatch(tp -> tp.epoch() <= 1 && tp.loss() != firstEpochMean),
                    "trace points are window means, not epoch means: " + r.lossTrace());
            // two weight layers, at initialisation and after each of 2 epochs
            assertEquals(2 * 3, r.alignment().size());
            for (CellResult.Alignment a : r.alignment()) {
                if (r.cell().feedback().equals("bp")) assertEquals(0, a.angleVW(), 1e-3);
                else assertTrue(a.angleVW() > 1 && a.angleVW() < 90, a.toString());
            }
        }
        assertTrue(Files.size(o.resolve("results.md")) > 0);
        assertTrue(Files.size(o.resolve("curves-mnist-mlp-16.png")) > 0);
        assertTrue(Files.size(o.resolve("alignment-mnist-mlp-16-bm.png")) > 0);
        assertTrue(Files.readString(o.resolve("progress.log")).contains("[8/8]"));

        out.getBuffer().setLength(0);
        run("grid", "run", f.toString(), "--out", o.toString(), "--no-report");
        assertTrue(out.toString().contains("4 cells already done, 4 to run"), "only the failed cells again: " + out);
    }
}
