package asymbp.grid;

import asymbp.cli.Main;
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
import java.util.concurrent.Callable;
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

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Runs every cell of FILE into DIR/cells/ (finished cells are skipped), then writes the report.")
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
            if (Files.exists(dir) && !Files.isDirectory(dir)) {
                err.println("error: --out " + dir + ": exists and is not a directory");
                err.flush();
                return Main.USAGE;
            }
            Files.createDirectories(dir);
            Files.copy(file, dir.resolve("grid.yaml"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Consumer<String> log = logger(o, dir.resolve("progress.log"));
            GridRunner.Summary s;
            try (TrainerCellRunner runner = new TrainerCellRunner()) {
                s = new GridRunner(runner, log).run(grid, dir);
            }
            if (!noReport) {
                GridReport.Written w = new GridReport(log).write(dir);
                log.accept("report: " + dir.resolve("results.md") + " (" + w.files().size() + " files)");
            }
            return s.failed() > 0 ? Main.FAILED : Main.OK;
        }
    }

    @Command(name = "report", mixinStandardHelpOptions = true,
            description = "Writes results.csv, results.md, findings.md and PNG figures from DIR/cells/.")
    static final class Report implements Callable<Integer> {
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "DIR", description = "a run directory of 'grid run'")
        Path dir;

        @Override public Integer call() throws IOException {
            PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
            if (!Files.isDirectory(dir)) {
                err.println("error: " + dir + ": not a directory");
                err.flush();
                return Main.USAGE;
            }
            try {
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
