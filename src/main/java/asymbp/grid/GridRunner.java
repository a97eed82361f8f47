package asymbp.grid;

import asymbp.io.Text;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Runs every cell of a grid into a run directory. Resumable: a cell whose finished result (ok or
 * diverged) is on disk for the same settings is skipped. One cell's failure is recorded in its result
 * file and the grid goes on.
 */
public final class GridRunner {

    /** What a run did, for the caller's exit status and tests. */
    public record Summary(int total, int skipped, int ok, int diverged, int failed, double seconds) {}

    private final CellRunner runner;
    private final Consumer<String> log;

    public GridRunner(CellRunner runner, Consumer<String> log) {
        this.runner = runner;
        this.log = log;
    }

    public Summary run(GridSpec grid, Path outDir) throws IOException {
        ResultStore store = new ResultStore(outDir);
        Files.createDirectories(store.dir());
        List<CellSpec> cells = grid.cells();
        int total = cells.size(), skipped = 0, ok = 0, diverged = 0, failed = 0, ran = 0;
        long start = System.nanoTime();
        double spentOnRun = 0;
        log.accept(grid.summary() + " -> " + outDir);
        boolean[] done = new boolean[total];
        int todo = 0;
        for (int i = 0; i < total; i++) {
            Optional<CellResult> prior = store.read(cells.get(i));
            done[i] = prior.isPresent() && prior.get().finished() && cells.get(i).equals(prior.get().cell());
            if (prior.isPresent() && prior.get().finished() && !done[i])
                log.accept("  " + cells.get(i).id() + ": stored result has other settings, will run it again");
            if (!done[i]) todo++;
        }
        log.accept((total - todo) + " cells already done, " + todo + " to run");
        for (int i = 0; i < total; i++) {
            CellSpec cell = cells.get(i);
            if (done[i]) {
                skipped++;
                continue;
            }
            long t0 = System.nanoTime();
            CellResult result;
            try {
                result = runner.run(cell, line -> log.accept("  " + line));
                if (result == null) throw new IllegalStateException("the cell runner returned no result");
            } catch (VirtualMachineError e) {
                if (!(e instanceof OutOfMemoryError)) throw e;
                result = CellResult.failed(cell, describe(e), secondsSince(t0), Instant.now().toString());
            } catch (Exception | LinkageError | AssertionError e) {
                result = CellResult.failed(cell, describe(e), secondsSince(t0), Instant.now().toString());
            }
            try {
                store.write(result);
            } catch (IOException e) {
                log.accept("  " + cell.id() + ": cannot write its result (" + e.getMessage() + ")");
            }
            double secs = secondsSince(t0);
            spentOnRun += secs;
            ran++;
            if (result.ok()) ok++;
            else if (result.diverged()) diverged++;
            else failed++;
            todo--;
            double eta = spentOnRun / ran * todo;
            log.accept(String.format(Locale.ROOT, "[%d/%d] %s: %s (%.1f s) | ok %d, diverged %d, failed %d, skipped %d; %d to run, ~%s left",
                    i + 1, total, cell.label(), outcome(result), secs, ok, diverged, failed, skipped, todo,
                    duration(eta)));
        }
        double seconds = secondsSince(start);
        log.accept(String.format(Locale.ROOT, "grid done in %s: %d cells, %d skipped (already done), %d ok, %d diverged, %d failed",
                duration(seconds), total, skipped, ok, diverged, failed));
        return new Summary(total, skipped, ok, diverged, failed, seconds);
    }

    static String outcome(CellResult r) {
        if (r.ok()) return String.format(Locale.ROOT, "test error %.2f%%", r.testError());
        if (r.diverged()) return "DIVERGED (" + r.message() + ")";
        return "FAILED: " + r.message();
    }

    /** One line: the exception's simple class name and first message line, and its cause's if any. */
    static String describe(Throwable e) {
        String s = e.getClass().getSimpleName() + ": " + Text.firstLine(e.getMessage());
        Throwable c = e.getCause();
        if (c != null && c != e && c.getMessage() != null && !s.contains(c.getMessage()))
            s += " (cause: " + c.getClass().getSimpleName() + ": " + Text.firstLine(c.getMessage()) + ")";
        return s;
    }

    static double secondsSince(long t0) { return (System.nanoTime() - t0) / 1e9; }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s < 60) return s + "s";
        if (s < 3600) return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
    }
}
