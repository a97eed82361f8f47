package asymbp.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/**
 * The command line: {@code asymbp train ...}, {@code asymbp devices}, and {@code asymbp grid ...} when
 * the grid module ({@code asymbp.grid.GridCommand}) is on the class path.
 *
 * <p>Exit codes: 0 done (or nothing to do), 1 runtime failure (data, backend, I/O, an output folder in
 * use), 2 bad flag or value, found before any work (including --out, --init, --resume problems, sizes
 * beyond memory, and no command at all), 3 the run diverged.
 */
@Command(name = "asymbp", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Asymmetric backpropagation (Liao, Leibo & Poggio, AAAI-16) on cpu, opencl or cuda.",
        subcommands = {TrainCommand.class, DevicesCommand.class, CommandLine.HelpCommand.class})
public final class Main implements java.util.concurrent.Callable<Integer> {

    public static final int OK = 0, FAILED = 1, USAGE = 2, DIVERGED = 3;

    /** Optional subcommands, added when their class is present: name → class. */
    private static final String[][] OPTIONAL = {{"grid", "asymbp.grid.GridCommand"}};

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** No subcommand: the usage, on stderr, and exit code 2. */
    @Override public Integer call() {
        PrintWriter err = spec.commandLine().getErr();
        err.println("error: no command given; one of: train, devices, grid, help");
        spec.commandLine().usage(err);
        err.flush();
        return USAGE;
    }

    public static void main(String[] args) {
        int code;
        try {
            code = commandLine().execute(args);
        } catch (OutOfMemoryError e) {
            // A size was not caught before allocating; say so in one line rather than with a stack trace.
            System.err.println("error: out of memory (maximum heap " + asymbp.io.Memory.gib(Runtime.getRuntime().maxMemory())
                    + "); raise it with -Xmx or use a smaller model, batch or dataset");
            code = FAILED;
        }
        System.exit(code);
    }

    /** The configured command line (tests set their own out/err writers on it). */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        for (String[] o : OPTIONAL) {
            try {
                Object cmd = Class.forName(o[1]).getDeclaredConstructor().newInstance();
                cl.addSubcommand(o[0], cmd);
            } catch (ReflectiveOperationException | LinkageError e) {
                // not built into this jar: the subcommand is simply absent
            }
        }
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setParameterExceptionHandler((ex, args) -> {
            PrintWriter err = ex.getCommandLine().getErr();
            err.println("error: " + ex.getMessage() + " (see '" + ex.getCommandLine().getCommandSpec().qualifiedName()
                    + " --help')");
            err.flush();
            return USAGE;
        });
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            PrintWriter err = commandLine.getErr();
            err.println("error: " + oneLine(ex));
            if (System.getenv("ASYMBP_DEBUG") != null) ex.printStackTrace(err);
            err.flush();
            return ex instanceof IllegalArgumentException ? USAGE : FAILED;
        });
        return cl;
    }

    /** A throwable as one line: its message, or its class when it has none. */
    static String oneLine(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) m = t.getClass().getSimpleName();
        return m.replace('\n', ' ');
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override public String[] getVersion() {
            asymbp.train.RunInfo b = asymbp.train.RunInfo.of(java.util.List.of());
            return new String[] {"asymbp " + b.version() + " (commit " + b.gitCommit() + ")"};
        }
    }
}
