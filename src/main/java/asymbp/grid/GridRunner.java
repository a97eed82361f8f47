package asymbp.grid;

import asymbp.io.Text;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.ArrayList;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Runs every cell of a grid into a run directory. Resumable: a cell whose finished result (ok or
 * diverged) is on disk for the same settings is skipped, and a cell that was killed part way continues
 * from its last epoch's checkpoint in {@code DIR/work/<id>/}. One cell's failure is recorded in its result
 * file and the grid goes on.
 *
 * <p>With {@code parallel} K above 1, K cells train at once, each on its own runner (its own backend
 * instance: its own CUDA stream and graph, its own OpenCL queue, its own CPU thread pool). A cell's
 * result does not depend on which runner or when it ran, so K changes the wall time only.
 */
public final class GridRunner {

    /** What a run did, for the caller's exit status and tests. */
    public record Summary(int total, int skipped, int ok, int diverged, int failed, double seconds) {}

    private final Supplier<CellRunner> runners;
    private final int parallel;
    private final boolean ownsRunners;
    private final Consumer<String> log;

    /** One cell at a time on {@code runner} (which the caller closes). */
    public GridRunner(CellRunner runner, Consumer<String> log) {
        this(() -> runner, 1, false, log);
    }

    /**
     * {@code parallel} cells at a time, each thread on its own runner from {@code runners}, closed here.
     */
    public GridRunner(Supplier<CellRunner> runners, int parallel, Consumer<String> log) {
        this(runners, parallel, true, log);
    }

    private GridRunner(Supplier<CellRunner> runners, int parallel, boolean ownsRunners, Consumer<String> log) {
        this.ownsRunners = ownsRunners;
        if (parallel < 1) throw new IllegalArgumentException("--parallel " + parallel + ": must be at least 1");
        this.runners = runners;
        this.parallel = parallel;
        this.log = line -> { synchronized (this) { log.accept(line); } };
    }

    /** The cells of {@code grid} without a finished result for the same settings in {@code store}. */
    public List<CellSpec> todo(List<CellSpec> cells, ResultStore store) {
        List<CellSpec> out = new ArrayList<>();
        for (CellSpec c : cells) {
            Optional<CellResult> prior = store.read(c);
            boolean done = prior.isPresent() && prior.get().finished() && c.equals(prior.get().cell());
            if (prior.isPresent() && prior.get().finished() && !done)
                log.accept("  " + c.id() + ": stored result has other settings, will run it again");
            if (!done) out.add(c);
        }
        return out;
    }

    /** Counts of the cells recorded so far, and the progress line for each. */
    public final class Tally {
        final int total, skipped;
        int ok, diverged, failed, ran, todo;
        double spentOnRun;
        final long start = System.nanoTime();

        Tally(int total, int todo) {
            this.total = total;
            this.todo = todo;
            this.skipped = total - todo;
        }

        /** Records one result (thread-safe) and logs its progress line. */
        public synchronized void add(CellResult result, double secs) {
            spentOnRun += secs;
            ran++;
            if (result.ok()) ok++;
            else if (result.diverged()) diverged++;
            else failed++;
            todo--;
            double eta = spentOnRun / ran * todo / parallel;
            log.accept(String.format(Locale.ROOT, "[%d/%d] %s: %s (%.1f s) | ok %d, diverged %d, failed %d, skipped %d; %d to run, ~%s left",
                    skipped + ran, total, result.cell().label(), outcome(result), secs, ok, diverged, failed, skipped, todo,
                    duration(eta)));
        }

        public Summary summary() {
            double seconds = secondsSince(start);
            log.accept(String.format(Locale.ROOT, "grid done in %s: %d cells, %d skipped (already done), %d ok, %d diverged, %d failed",
                    duration(seconds), total, skipped, ok, diverged, failed));
            return new Summary(total, skipped, ok, diverged, failed, seconds);
        }
    }

    /** Starts a run: logs the grid and what is left to do. */
    public Tally start(GridSpec grid, Path outDir, int total, int todo) {
        log.accept(grid.summary() + " -> " + outDir);
        log.accept((total - todo) + " cells already done, " + todo + " to run");
        return new Tally(total, todo);
    }

    public Summary run(GridSpec grid, Path outDir) throws IOException {
        ResultStore store = new ResultStore(outDir);
        Files.createDirectories(store.dir());
        List<CellSpec> cells = grid.cells();
        List<CellSpec> todo = todo(cells, store);
        Tally tally = start(grid, outDir, cells.size(), todo.size());
        if (parallel == 1 || todo.size() <= 1) {
            CellRunner runner = runners.get();
            try {
                for (CellSpec cell : todo) runOne(runner, cell, store, outDir, tally);
            } finally {
                if (ownsRunners) runner.close();
            }
            removeIfEmpty(outDir.resolve("work"));
            return tally.summary();
        }
        int k = Math.min(parallel, todo.size());
        BlockingQueue<CellSpec> queue = new LinkedBlockingQueue<>(todo);
        List<Thread> threads = new ArrayList<>();
        AtomicReference<Throwable> fatal = new AtomicReference<>();
        for (int i = 0; i < k; i++) {
            Thread t = new Thread(() -> {
                try (CellRunner runner = runners.get()) {
                    for (CellSpec cell; fatal.get() == null && (cell = queue.poll()) != null; )
                        runOne(runner, cell, store, outDir, tally);
                } catch (Throwable e) {
                    fatal.compareAndSet(null, e);
                }
            }, "asymbp-cell-" + i);
            threads.add(t);
            t.start();
        }
        for (Thread t : threads) {
            try {
                t.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while cells were running", e);
            }
        }
        removeIfEmpty(outDir.resolve("work"));
        Throwable f = fatal.get();
        if (f instanceof Error) throw (Error) f;
        if (f != null) throw new IOException("a cell runner failed: " + describe(f), f);
        return tally.summary();
    }

    private void runOne(CellRunner runner, CellSpec cell, ResultStore store, Path outDir, Tally tally) {
        long t0 = System.nanoTime();
        Path work = workDir(outDir, cell);
        CellResult result = runCell(runner, cell, work, line -> log.accept("  " + line));
        try {
            store.write(result);
            clearWork(work, result);
        } catch (IOException e) {
            log.accept("  " + cell.id() + ": cannot write its result (" + e.getMessage() + ")");
        }
        tally.add(result, secondsSince(t0));
    }

    /**
     * A cell's work folder once the cell ran: kept only while it holds a checkpoint to resume from (an
     * unfinished cell's), else removed. The one rule of local runs and Spark executors; the caller makes
     * sure no other run of the cell can be using the folder (an executor calls it under the folder's lock).
     */
    public static void clearWork(Path work, CellResult result) {
        if (result.finished() || !Files.exists(work.resolve(asymbp.train.Checkpoint.FILE))) TrainerCellRunner.deleteTree(work);
    }

    /** Removes {@code dir} if it is an empty folder (the work folder once every cell finished). */
    static void removeIfEmpty(Path dir) {
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            // not empty (cells left to resume) or not removable: it stays
        }
    }

    /** The folder a cell keeps its checkpoints in while it runs. */
    public static Path workDir(Path outDir, CellSpec cell) {
        return outDir.resolve("work").resolve(cell.id());
    }

    /** Runs one cell; anything it throws (out of memory included) becomes its failed result. */
    public static CellResult runCell(CellRunner runner, CellSpec cell, Path work, Consumer<String> log) {
        long t0 = System.nanoTime();
        try {
            CellResult result = runner.run(cell, work, log);
            if (result == null) throw new IllegalStateException("the cell runner returned no result");
            return result;
        } catch (VirtualMachineError e) {
            if (!(e instanceof OutOfMemoryError)) throw e;
            return CellResult.failed(cell, describe(e), secondsSince(t0), Instant.now().toString());
        } catch (Exception | LinkageError | AssertionError e) {
            return CellResult.failed(cell, describe(e), secondsSince(t0), Instant.now().toString());
        }
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
