package asymbp.grid;

import asymbp.cli.Main;
import asymbp.data.Dataset;
import asymbp.io.FolderLock;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/** {@code asymbp grid run FILE [--out DIR]} and {@code asymbp grid report DIR}. */
@Command(name = "grid", mixinStandardHelpOptions = true,
        description = "Experiment grids: run every cell of a grid file (resumable), then report.",
        subcommands = {GridCommand.Run.class, GridCommand.Report.class, CommandLine.HelpCommand.class})
public final class GridCommand implements Runnable {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Prints to the command's output and appends to DIR/progress.log. */
    static Consumer<String> logger(PrintWriter out, Path logFile) {
        return line -> {
            out.println(line);
            out.flush();
            if (logFile == null) return;
            try {
                Files.writeString(logFile, line + System.lineSeparator(), StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException ignored) {
                // the log file is a convenience; the console has the line
            }
        };
    }

    /** The cpu backend's threads-per-instance property (asymbp.cpu.CpuProvider). */
    static final String CPU_THREADS = "asymbp.cpu.threads";

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Runs every cell of FILE into DIR/cells/ (finished cells are skipped, a cell stopped part way "
                    + "resumes from its last epoch), then writes the report. One run per DIR at a time.")
    static final class Run implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "FILE", description = "the grid file (YAML)")
        Path file;

        @Option(names = "--out", paramLabel = "DIR", description = "run directory (default: runs/grid/NAME)")
        Path out;

        @Option(names = "--no-report", description = "do not write the report at the end")
        boolean noReport;

        @Option(names = "--dry-run", description = "list the cells and stop")
        boolean dryRun;

        @Option(names = "--parallel", paramLabel = "K", defaultValue = "1",
                description = "cells trained at once in this process, each on its own backend instance (default: ${DEFAULT-VALUE}; "
                        + "not used with --spark, where each executor runs its own cells)")
        int parallel;

        @Option(names = "--spark", description = "run the cells as Apache Spark tasks, one cell per task "
                + "(start with spark-submit --class asymbp.grid.spark.SparkGrid asymbp.jar grid run FILE --out DIR)")
        boolean spark;

        @Option(names = "--cpu-threads", paramLabel = "N",
                description = "threads per cell on the cpu backend in this process (default: all cores; Spark executors: "
                        + "-Dasymbp.cpu.threads=N). Results depend on N, not on --parallel")
        Integer cpuThreads;

        @Override public Integer call() throws IOException {
            PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
            GridSpec grid;
            try {
                grid = GridSpec.load(file);
            } catch (GridFileException e) {
                err.println("error: " + e.getMessage());
                err.flush();
                return Main.USAGE;
            }
            Path dir = out != null ? out : Path.of("runs", "grid", grid.name());
            if (dryRun) {
                o.println(grid.summary());
                for (CellSpec c : grid.cells()) o.println("  " + c.id() + "  lr " + c.lr());
                o.flush();
                return Main.OK;
            }
            // GridRunner checks --parallel (its one rule); its lines go to progress.log once the folder is ours.
            AtomicReference<Consumer<String>> progress = new AtomicReference<>(line -> {});
            Map<String, Dataset> datasets = new ConcurrentHashMap<>();
            GridRunner runner;
            try {
                runner = new GridRunner(() -> new TrainerCellRunner(datasets, -1), parallel, line -> progress.get().accept(line));
            } catch (IllegalArgumentException e) {
                err.println("error: " + e.getMessage());
                err.flush();
                return Main.USAGE;
            }
            if (cpuThreads != null && cpuThreads < 1) {
                err.println("error: --cpu-threads " + cpuThreads + ": must be at least 1");
                err.flush();
                return Main.USAGE;
            }
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                err.println("error: --out " + dir + ": exists and is not a directory");
                err.flush();
                return Main.USAGE;
            }
            if (spark && !sparkPresent()) {
                err.println("error: --spark: Apache Spark is not on the class path; start the grid with spark-submit"
                        + " --class asymbp.grid.spark.SparkGrid asymbp.jar grid run FILE --out DIR");
                err.flush();
                return Main.USAGE;
            }
            try (FolderLock lock = FolderLock.acquire(dir, "grid run " + file)) {
                return runLocked(grid, dir, o, runner, progress);
            } catch (FolderLock.HeldException e) {
                err.println("error: " + e.getMessage());
                err.flush();
                return Main.FAILED;
            }
        }

        private static boolean sparkPresent() {
            try {
                Class.forName("org.apache.spark.SparkContext", false, GridCommand.class.getClassLoader());
                return true;
            } catch (ClassNotFoundException | LinkageError e) {
                return false;
            }
        }

        private int runLocked(GridSpec grid, Path dir, PrintWriter o, GridRunner runner,
                              AtomicReference<Consumer<String>> progress) throws IOException {
            Files.copy(file, dir.resolve("grid.yaml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Consumer<String> log = logger(o, dir.resolve("progress.log"));
            progress.set(log);
            GridRunner.Summary s;
            String threadsBefore = System.getProperty(CPU_THREADS);
            if (cpuThreads != null) System.setProperty(CPU_THREADS, cpuThreads.toString());
            try {
                s = spark ? asymbp.grid.spark.SparkGridDriver.run(grid, dir, runner) : runner.run(grid, dir);
            } finally {
                if (threadsBefore == null) System.clearProperty(CPU_THREADS);
                else System.setProperty(CPU_THREADS, threadsBefore);
            }
            if (!noReport) {
                GridReport.Written w = new GridReport(log).write(dir);
                log.accept("report: " + dir.resolve("results.md") + " (" + w.files().size() + " files)");
            }
            return s.failed() > 0 ? Main.FAILED : Main.OK;
        }
    }

    @Command(name = "report", mixinStandardHelpOptions = true,
            description = "Writes results.csv (final and best-epoch test error per cell), cells.csv, results.md, findings.md "
                    + "and PNG figures from DIR/cells/; cells of DIR/grid.yaml without a result are listed as unfinished.")
    static final class Report implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "DIR", description = "a run directory of 'grid run'")
        Path dir;

        @Option(names = "--compact-cells", description = "first rewrite cell files as new cells are written: on one line, "
                + "the loss trace thinned to at most " + CellResult.TRACE_LIMIT + " points")
        boolean compact;

        @Override public Integer call() throws IOException {
            PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
            if (!Files.isDirectory(dir)) {
                err.println("error: " + dir + ": not a directory");
                err.flush();
                return Main.USAGE;
            }
            try {
                if (compact) o.println(new ResultStore(dir).compact() + " cell files compacted");
                GridReport.Written w = new GridReport(line -> { err.println(line); err.flush(); }).write(dir);
                for (Path p : w.files()) o.println(p);
                o.println(w.cells() + " cells reported");
                o.flush();
                return Main.OK;
            } catch (GridFileException e) {
                err.println("error: " + e.getMessage());
                err.flush();
                return Main.FAILED;
            }
        }
    }
}
