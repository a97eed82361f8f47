package asymbp.cli;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
import asymbp.data.DatasetException;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.io.WeightsException;
import asymbp.train.Checkpoint;
import asymbp.train.RunInfo;
import asymbp.train.RunResult;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code asymbp train}: one training run; defaults demonstrate the paper's headline (LeNet+BN, brSF, MNIST). */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train one network with asymmetric backpropagation. DIR gets train.log, metrics.csv, "
                + "result.json and checkpoint.npz as each epoch ends, and weights/*.npy at the end.",
        footer = {"", "Exit codes: 0 done (or nothing to do), 1 runtime failure (data, backend, I/O, DIR in use),",
                "2 bad flag or value (before any work; --out, --init and --resume problems included), 3 diverged."})
public final class TrainCommand implements Callable<Integer> {

    private static final TrainConfig D = TrainConfig.defaults();

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "read options from FILE: YAML, one value per key, each key "
            + "a flag below in snake_case (--weight-decay: weight_decay), as in grid files; flags given here override it "
            + "(except --config, --out, --resume, --force)")
    Path configFile;
    @Option(names = "--dataset", paramLabel = "SPEC", description = "mnist, fashion-mnist, digits, cifar10, ..., or KIND:PATH (default: ${DEFAULT-VALUE})")
    String dataset = D.dataset();
    @Option(names = "--model", paramLabel = "MODEL", description = asymbp.model.Net.NAMES + " (default: ${DEFAULT-VALUE})")
    String model = D.model();
    @Option(names = "--feedback", paramLabel = "MODE", description = "bp, usf, brsf, frsf, fa, dfa or psf:p, p in [0,1] (default: ${DEFAULT-VALUE})")
    String feedback = D.feedback();
    @Option(names = "--bn", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "batch normalisation after every hidden weight layer (default: on; --no-bn: off)")
    boolean bn = true;
    @Option(names = "--update", paramLabel = "RULE", description = "sgd or bm (Batch Manhattan) (default: ${DEFAULT-VALUE})")
    String update = D.update();
    @Option(names = "--epochs", description = "(default: ${DEFAULT-VALUE})")
    int epochs = D.epochs();
    @Option(names = "--batch", description = "(default: ${DEFAULT-VALUE})")
    int batch = D.batch();
    @Option(names = "--lr", description = "learning rate η (default: ${DEFAULT-VALUE})")
    double lr = D.lr();
    @Option(names = "--momentum", description = "μ (default: ${DEFAULT-VALUE})")
    double momentum = D.momentum();
    @Option(names = "--weight-decay", description = "λ (default: ${DEFAULT-VALUE})")
    double weightDecay = D.weightDecay();
    @Option(names = "--lr-steps", split = ",", paramLabel = "E1,E2", description = "multiply the lr by --lr-factor after these epochs")
    List<Integer> lrSteps = D.lrSteps();
    @Option(names = "--lr-factor", description = "(default: ${DEFAULT-VALUE})")
    double lrFactor = D.lrFactor();
    @Option(names = "--seed", description = "(default: ${DEFAULT-VALUE})")
    long seed = D.seed();
    @Option(names = "--backend", description = "auto, cpu, opencl or cuda (default: ${DEFAULT-VALUE})")
    String backend = D.backend();
    @Option(names = "--device", description = "device index within the backend (default: ${DEFAULT-VALUE})")
    int device = D.device();
    @Option(names = "--out", paramLabel = "DIR", description = "output directory (default: runs/<time>)")
    Path out;
    @Option(names = "--resume", description = "continue DIR's run from DIR/checkpoint.npz up to --epochs (its other settings come from the checkpoint unless given)")
    boolean resume;
    @Option(names = "--force", description = "DIR holds a run: delete it and start again (refused if DIR holds files a run does not write)")
    boolean force;
    @Option(names = "--limit", paramLabel = "N", description = "use only the first N training images, N ≥ 1 (default: all)")
    int limit = D.limit();
    @Option(names = "--init", paramLabel = "DIR", description = "start from DIR/<name>.npy (PyTorch state_dict names and shapes)")
    Path init;
    @Option(names = "--weight-init", description = "uniform (1/sqrt(fan_in)) or xavier (default: ${DEFAULT-VALUE})")
    String weightInit = D.weightInit();
    @Option(names = "--fb-scale", paramLabel = "S", description = "s, the factor on sign(W) or the magnitudes, or xavier: each layer's own (default: ${DEFAULT-VALUE})")
    String fbScale = D.fbScale().toString();
    @Option(names = "--fb-magnitude", paramLabel = "DIST", description = "uniform (U(0,1)) or halfnormal (|N(0,1)|) (default: ${DEFAULT-VALUE})")
    String magnitude = D.magnitude();
    @Option(names = "--fa-sigma", paramLabel = "SIGMA", description = "fa's σ (default: the std of each layer's initialisation)")
    double faSigma = D.faSigma();
    @Option(names = "--last-layer-bp", description = "the last layer uses true backprop (as Xiao et al.)")
    boolean lastLayerBp = D.lastLayerBp();
    @Option(names = "--diverge-bound", paramLabel = "LOSS", description = "a loss above this is divergence (default: 100·ln(classes))")
    double divergeBound = D.divergeBound();
    @Option(names = "--eval-batch", paramLabel = "N", description = "batch size for evaluation (default: --batch)")
    int evalBatch = D.evalBatch();
    @Option(names = {"-q", "--quiet"}, description = "no progress bar and no header line")
    boolean quiet;

    /**
     * {@code base} with every option given on this command line: the flags come from
     * {@link TrainConfig.Option}, the one list of options, so nothing here names them again.
     */
    private TrainConfig withGivenFlags(TrainConfig base) {
        CommandLine.ParseResult pr = spec.commandLine().getParseResult();
        Map<TrainConfig.Option, Object> given = new LinkedHashMap<>();
        for (TrainConfig.Option o : TrainConfig.Option.values())
            if (o != TrainConfig.Option.RESUME && pr.hasMatchedOption(o.flag))
                given.put(o, pr.matchedOption(o.flag).getValue());
        return given.isEmpty() ? base : base.with(given);
    }

    /** The checkpoint of a resumed run, read once by {@link #call} and handed to the Trainer. */
    private Checkpoint loaded;

    /**
     * On --resume the run's own configuration comes from the checkpoint; only the options given on this
     * command line (flags, and the keys of --config FILE) replace its values.
     */
    private TrainConfig resumed(TrainConfig c, ConfigFile file) {
        if (file != null) c = file.apply(c);
        // --init only seeds a fresh run; a resumed run continues from the checkpoint's weights.
        return withGivenFlags(c).withInit(null).withQuiet(quiet).withResume(true);
    }

    @Override public Integer call() {
        PrintWriter o = spec.commandLine().getOut(), err = spec.commandLine().getErr();
        CommandLine.ParseResult pr = spec.commandLine().getParseResult();
        TrainConfig cfg;
        Path dir = out != null ? out : freshRunFolder();
        ConfigFile file = null;
        try {
            if (configFile != null) file = ConfigFile.read(configFile);
            cfg = withGivenFlags(file == null ? TrainConfig.defaults() : file.apply(TrainConfig.defaults())).withResume(resume);
            // A resumed run is checked once its checkpoint's settings are in (its --epochs and
            // --lr-steps must fit together, and the checkpoint holds the values not given here).
            if (!resume) validate(cfg, file);
            // TrainConfig's limit 0 means "all"; on the command line it is a mistake.
            if (pr.hasMatchedOption("--limit") && limit < 1)
                throw new IllegalArgumentException("--limit " + limit + ": must be at least 1 (leave it out to train on every image)");
            if (resume && force) throw new IllegalArgumentException("--resume --force: choose one (continue the run, or delete it and start again)");
            if (resume && out == null) throw new IllegalArgumentException("--resume needs --out DIR (the run to continue)");
            if (resume && !Files.isRegularFile(dir.resolve(Checkpoint.FILE)))
                throw new IllegalArgumentException("--resume: no checkpoint at " + dir.resolve(Checkpoint.FILE)
                        + (Files.exists(dir.resolve("checkpoint.bin")) ? " (checkpoint.bin is the older format, which cannot be resumed)" : ""));
            if (resume) {
                // Read once, whole and verified: a damaged checkpoint is refused before the folder is touched.
                try {
                    loaded = Checkpoint.read(dir.resolve(Checkpoint.FILE));
                } catch (IOException e) {
                    throw new IllegalArgumentException("--resume: " + Main.oneLine(e));
                }
                Checkpoint.Header h = loaded.header();
                cfg = resumed(h.config(), file);
                validate(cfg, file);
                if (h.epochs() >= cfg.epochs()) {
                    o.println("nothing to do: " + dir + " already holds " + h.epochs() + " of " + cfg.epochs()
                            + " epochs (give --epochs N with N > " + h.epochs() + " to train further); nothing was changed");
                    o.flush();
                    return Main.OK;
                }
            }
            Path initDir = init != null ? init : !resume && cfg.init() != null ? Path.of(cfg.init()) : null;
            if (initDir != null && !Files.isDirectory(initDir)) {
                String m = "--init " + initDir + ": not a directory";
                throw new IllegalArgumentException(file == null ? m : file.message(m, given()));
            }
        } catch (IllegalArgumentException e) {
            err.println("error: " + e.getMessage());
            err.flush();
            return Main.USAGE;
        }

        try (RunFolder folder = RunFolder.open(dir, cfg.resume(), force)) {
            return train(cfg, folder.dir, o, err);
        } catch (RunFolder.Refused e) {
            err.println("error: " + e.getMessage());
            err.flush();
            return Main.USAGE;
        } catch (IOException e) {
            err.println("error: " + Main.oneLine(e));
            err.flush();
            return Main.FAILED;
        }
    }

    /** Loads the data, opens the backend and runs, in a folder that is ours (a resumed run from {@link #loaded}). */
    private int train(TrainConfig cfg, Path dir, PrintWriter o, PrintWriter err) {
        Dataset data;
        try {
            data = Datasets.load(cfg.dataset());
        } catch (DatasetException e) {
            err.println("error: " + Main.oneLine(e));
            err.flush();
            return Main.FAILED;
        }
        if (cfg.limit() > data.trainCount()) {
            err.println("error: --limit " + cfg.limit() + ": " + cfg.dataset() + " has " + data.trainCount() + " training images");
            err.flush();
            return Main.USAGE;
        }
        if (data.testCount() == 0) {
            err.println("error: --dataset " + cfg.dataset() + ": no test images, so the run could not report a test error");
            err.flush();
            return Main.FAILED;
        }
        Backend be;
        try {
            be = Backends.open(cfg.backend(), cfg.device(), line -> { err.println(line); err.flush(); });
        } catch (BackendUnavailableException e) {
            err.println("error: backend " + cfg.backend() + ": " + Main.oneLine(e));
            err.flush();
            return Main.FAILED;
        }
        try (be; Trainer t = new Trainer(be, data, cfg)) {
            t.setLog(line -> { o.println(line); o.flush(); });
            t.setRunInfo(RunInfo.of(commandLine()));
            t.resumeFrom(loaded);
            loaded = null; // the Trainer takes it; its arrays go once they are on the backend
            RunResult r = t.run(dir);
            if (r.diverged()) {
                err.println(String.format(Locale.ROOT, "DIVERGED at step %d (%s, bound %.4g) after %d good epoch(s); %s; see %s",
                        r.divergedStep(), r.divergedCause() + (r.divergedLoss() != null ? " " + r.divergedLoss() : ""),
                        t.divergeBound(), r.epochs(),
                        r.epochs() > 0 ? Checkpoint.FILE + " keeps epoch " + r.epochs() : "no checkpoint was written",
                        dir.resolve(Trainer.RESULT)));
                err.flush();
                return Main.DIVERGED;
            }
            o.println(String.format(Locale.ROOT, "test error %.2f%%, %.0f images/s, %.1f s%s; results in %s",
                    r.testError(), r.imagesPerSecond(), r.wallSeconds(), r.resumedFromEpoch() == 0 ? ""
                            : String.format(Locale.ROOT, " (%.1f s with the invocations before epoch %d)",
                                    r.wallSecondsTotal(), r.resumedFromEpoch() + 1), dir));
            o.flush();
            return Main.OK;
        } catch (WeightsException e) {
            err.println("error: --init: " + Main.oneLine(e));
            err.flush();
            return Main.USAGE;
        } catch (IllegalArgumentException e) {
            err.println("error: " + Main.oneLine(e));
            err.flush();
            return Main.USAGE;
        } catch (IOException | DatasetException e) {
            err.println("error: " + Main.oneLine(e));
            err.flush();
            return Main.FAILED;
        }
    }

    /** TrainConfig's checks; a bad value that came from the config file is named by its key there. */
    private void validate(TrainConfig cfg, ConfigFile file) {
        if (file != null) file.validate(cfg, given());
        else cfg.validate();
    }

    /** The flags given on this command line. */
    private java.util.Set<String> given() {
        java.util.Set<String> g = new java.util.HashSet<>();
        for (TrainConfig.Option o : TrainConfig.Option.values())
            if (spec.commandLine().getParseResult().hasMatchedOption(o.flag)) g.add(o.flag);
        return g;
    }

    /** runs/<time>, with a suffix when a run started in the same second. */
    private static Path freshRunFolder() {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
        Path p = Path.of("runs", stamp);
        for (int k = 2; Files.exists(p); k++) p = Path.of("runs", stamp + "-" + k);
        return p;
    }

    /** The command line as typed, for the run's records (arguments with spaces quoted). */
    private List<String> commandLine() {
        List<String> args = new java.util.ArrayList<>();
        args.add("asymbp");
        for (String a : spec.commandLine().getParseResult().originalArgs())
            args.add(a.isEmpty() || a.matches(".*[\\s'\"].*") ? "'" + a.replace("'", "'\\''") + "'" : a);
        return args;
    }
}
