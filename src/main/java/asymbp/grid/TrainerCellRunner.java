package asymbp.grid;

import asymbp.backend.Backend;
import asymbp.backend.Backends;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.io.Json;
import asymbp.train.Checkpoint;
import asymbp.train.EpochRecord;
import asymbp.train.LayerAlignment;
import asymbp.train.RunResult;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Runs a cell through the engine's own loop, {@link Trainer#run}: its epochs go through the backend's
 * StepReplay (CUDA graphs, back-to-back OpenCL steps), it checkpoints after every epoch into the cell's
 * work folder, and a cell killed part way resumes from its last epoch, bit for bit as if it had not been.
 * The training-loss trace comes from the Trainer's per-chunk loss sums (chunks as long as a trace window),
 * so it costs no extra device read. Alignment angles at initialisation and after every epoch come from
 * the Trainer's history.
 *
 * <p>The work folder holds {@code checkpoint.npz} (asymbp.train.Checkpoint.FILE), {@code trace.tsv} (one trace point per line, appended
 * as training goes) and {@code alignment0.json} (the angles at initialisation), all a resume needs.
 *
 * <p>One backend is opened per runner and reused for its cells; datasets may be shared between runners
 * (the map passed in), since cells only read them.
 */
public final class TrainerCellRunner implements CellRunner {

    /** Loss-trace points per epoch. */
    static final int TRACE_POINTS = 25;
    static final String TRACE = "trace.tsv", ALIGNMENT0 = "alignment0.json";

    private final Map<String, Dataset> datasets;
    private final Map<String, Backend> backends = new HashMap<>();
    /** The device to open instead of the cell's (an executor's assigned GPU), or -1. */
    private final int deviceOverride;
    /** Test hook: called with (epoch, step in epoch) after each chunk; may throw to simulate a kill. */
    Trainer.StepsListener interrupt;

    public TrainerCellRunner() { this(new ConcurrentHashMap<>(), -1); }

    /**
     * @param datasets       loaded datasets by spec, shared with other runners (a concurrent map)
     * @param deviceOverride the device every cell runs on, whatever its grid says (backends other than cpu);
     *                       -1 = the cell's own
     */
    public TrainerCellRunner(Map<String, Dataset> datasets, int deviceOverride) {
        this.datasets = datasets;
        this.deviceOverride = deviceOverride;
    }

    static TrainConfig config(CellSpec c) {
        Stabiliser s = c.stab();
        if (s == null) throw new IllegalArgumentException("unknown stabiliser '" + c.stabiliser() + "'");
        Map<TrainConfig.Option, Object> v = new EnumMap<>(TrainConfig.Option.class);
        v.put(TrainConfig.Option.DATASET, c.dataset());
        v.put(TrainConfig.Option.MODEL, c.model());
        v.put(TrainConfig.Option.FEEDBACK, c.feedback());
        v.put(TrainConfig.Option.BN, s.bn);
        v.put(TrainConfig.Option.UPDATE, s.update.cliName());
        v.put(TrainConfig.Option.LR, c.lr());
        v.put(TrainConfig.Option.SEED, c.seed());
        // The grid's own options, under the keys the cell stores them by (CellSpec's names, snake_case).
        var cell = Json.MAPPER.valueToTree(c);
        for (TrainConfig.Option o : TrainConfig.Option.gridOptions()) {
            if (!cell.has(o.key)) throw new IllegalStateException("CellSpec has no " + o.key);
            v.put(o, cell.get(o.key));
        }
        v.put(TrainConfig.Option.QUIET, true);
        return TrainConfig.defaults().with(v).validate();
    }

    private Dataset dataset(String spec) {
        // computeIfAbsent on a concurrent map loads each dataset once even when runners ask at the same time.
        return datasets.computeIfAbsent(spec, Datasets::load);
    }

    private Backend backend(String name, int device, Consumer<String> log) throws Exception {
        String key = name + "#" + device;
        Backend b = backends.get(key);
        if (b == null) {
            b = Backends.open(name, device, log);
            backends.put(key, b);
            log.accept("opened backend " + b.name() + ": " + b.deviceName());
        }
        return b;
    }

    /** Runs {@code cell} in a temporary work folder, removed afterwards. */
    @Override
    public CellResult run(CellSpec cell, Consumer<String> log) throws Exception {
        Path work = Files.createTempDirectory("asymbp-cell-");
        try {
            return run(cell, work, log);
        } finally {
            deleteTree(work);
        }
    }

    @Override
    public CellResult run(CellSpec cell, Path work, Consumer<String> log) throws Exception {
        long t0 = System.nanoTime();
        TrainConfig cfg = config(cell);
        // An assigned GPU means nothing to the cpu backend (it has device 0 only).
        if (deviceOverride >= 0 && !cfg.backend().equals("cpu")) cfg = cfg.withDevice(deviceOverride);
        Dataset data = dataset(cell.dataset());
        Backend be = backend(cfg.backend(), cfg.device(), log);
        String device = be.name() + ": " + be.deviceName();
        Files.createDirectories(work);
        Path ckpt = work.resolve(Checkpoint.FILE), traceFile = work.resolve(TRACE), al0File = work.resolve(ALIGNMENT0);

        Checkpoint resumeFrom = resumable(cfg, ckpt, al0File, log);
        int resumeEpochs = resumeFrom == null ? 0 : resumeFrom.header().epochs();
        List<CellResult.TracePoint> trace = new ArrayList<>();
        List<CellResult.Alignment> alignment = new ArrayList<>();
        try (Trainer t = new Trainer(be, data, resumeEpochs > 0 ? cfg.withResume(true) : cfg)) {
            t.setLog(line -> {});
            int spe = t.stepsPerEpoch();
            int window = Math.max(1, Math.min(spe / TRACE_POINTS, 64));
            t.setReplayChunk(window);
            if (resumeEpochs > 0) {
                alignment.addAll(List.of(ResultStore.JSON.treeToValue(asymbp.io.Json.snakeKeys(ResultStore.JSON.readTree(al0File.toFile())), CellResult.Alignment[].class)));
                for (CellResult.TracePoint p : readTrace(traceFile)) if (p.epoch() <= resumeEpochs) trace.add(p);
                log.accept(cell.id() + ": resuming after epoch " + resumeEpochs);
            } else {
                addAlignment(alignment, 0, t.alignment());
                byte[] al0 = ResultStore.JSON.writeValueAsBytes(alignment);
                asymbp.io.AtomicFiles.write(al0File, out -> out.write(al0));
            }
            rewriteTrace(traceFile, trace);
            t.setStepsListener(new TraceWindow(spe, window, trace, traceFile, interrupt));
            t.resumeFrom(resumeFrom);
            resumeFrom = null; // the Trainer takes it
            RunResult r = t.run(work);
            log.accept(String.format(Locale.ROOT, "%s: %d steps through the backend's StepReplay, %d eager",
                    cell.id(), t.replayedSteps(), t.eagerSteps()));
            List<CellResult.EpochRecord> epochs = new ArrayList<>();
            for (EpochRecord e : r.history()) {
                epochs.add(new CellResult.EpochRecord(e.epoch(), e.loss(), e.trainError(), e.testError(), e.lr(), e.seconds()));
                addAlignment(alignment, e.epoch(), e.alignment());
            }
            // this invocation's wall time and that of the invocations before the checkpoint it resumed
            double wall = GridRunner.secondsSince(t0) + (r.wallSecondsTotal() - r.wallSeconds());
            if (r.diverged()) {
                String msg = String.format(Locale.ROOT, "loss %s at step %d (epoch %d; bound %.4g)",
                        Float.isFinite(t.divergedLoss()) ? Float.toString(t.divergedLoss()) : "NaN or Inf",
                        r.divergedStep(), epochs.size() + 1, t.divergeBound());
                return new CellResult(cell, CellResult.DIVERGED, msg, null, epochs, trace, alignment, wall, device,
                        Instant.now().toString());
            }
            return new CellResult(cell, CellResult.OK, null, r.testError(), epochs, trace, alignment, wall, device,
                    Instant.now().toString());
        }
    }

    /**
     * The checkpoint in the work folder if it holds epochs of exactly this configuration (null = start
     * afresh): the header is read first, so a checkpoint of other settings is not read whole; one of other
     * settings, or one that does not read, is set aside so it cannot be resumed.
     */
    private static Checkpoint resumable(TrainConfig cfg, Path ckpt, Path al0File, Consumer<String> log) throws IOException {
        if (!Files.isRegularFile(ckpt)) return null;
        try {
            Checkpoint.Header h = Checkpoint.readHeader(ckpt);
            TrainConfig stored = h.config().withQuiet(cfg.quiet()).withResume(cfg.resume());
            if (stored.equals(cfg) && Files.isRegularFile(al0File) && h.epochs() > 0) return Checkpoint.read(ckpt);
            log.accept(ckpt + ": written with other settings, starting the cell afresh");
        } catch (IOException e) {
            log.accept(ckpt + ": " + e.getMessage() + ", starting the cell afresh");
        }
        Files.deleteIfExists(ckpt);
        return null;
    }

    /** Collects the per-chunk loss sums into trace points at every {@code window}-th step of an epoch and its end. */
    private static final class TraceWindow implements Trainer.StepsListener {
        final int spe, window;
        final List<CellResult.TracePoint> trace;
        final Path file;
        final Trainer.StepsListener interrupt;
        double sum;
        long images;

        TraceWindow(int spe, int window, List<CellResult.TracePoint> trace, Path file, Trainer.StepsListener interrupt) {
            this.spe = spe;
            this.window = window;
            this.trace = trace;
            this.file = file;
            this.interrupt = interrupt;
        }

        @Override public void ran(int epoch, int stepInEpoch, int n, double lossSum, long img) {
            sum += lossSum;
            images += img;
            if (stepInEpoch % window == 0 || stepInEpoch >= spe) {
                CellResult.TracePoint p = new CellResult.TracePoint(epoch + stepInEpoch / (double) spe,
                        sum / Math.max(1, images));
                trace.add(p);
                try {
                    Files.writeString(file, line(p), StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                sum = 0;
                images = 0;
            }
            if (interrupt != null) interrupt.ran(epoch, stepInEpoch, n, lossSum, img);
        }
    }

    private static String line(CellResult.TracePoint p) {
        // Hex floats: the resumed trace equals the uninterrupted one bit for bit.
        return Double.toHexString(p.epoch()) + "\t" + Double.toHexString(p.loss()) + "\n";
    }

    private static List<CellResult.TracePoint> readTrace(Path f) throws IOException {
        List<CellResult.TracePoint> out = new ArrayList<>();
        if (!Files.isRegularFile(f)) return out;
        for (String l : Files.readAllLines(f, StandardCharsets.UTF_8)) {
            String[] p = l.split("\t");
            if (p.length != 2) continue; // a line cut short by a kill
            try {
                out.add(new CellResult.TracePoint(Double.parseDouble(p[0]), Double.parseDouble(p[1])));
            } catch (NumberFormatException e) {
                // a line cut short by a kill
            }
        }
        return out;
    }

    private static void rewriteTrace(Path f, List<CellResult.TracePoint> trace) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (CellResult.TracePoint p : trace) sb.append(line(p));
        asymbp.io.AtomicFiles.write(f, os -> os.write(sb.toString().getBytes(StandardCharsets.UTF_8)));
    }

    private static void addAlignment(List<CellResult.Alignment> out, int epoch, List<LayerAlignment> al) {
        for (LayerAlignment a : al)
            out.add(new CellResult.Alignment(epoch, a.layer(), a.name(), a.weightAngle(), a.errorAngle()));
    }

    public static void deleteTree(Path dir) {
        if (!Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a leftover work file is harmless
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }

    @Override public void close() {
        for (Backend b : backends.values()) {
            try { b.close(); } catch (RuntimeException ignored) { /* closing is best effort */ }
        }
        backends.clear();
    }
}
