package asymbp.grid;

import asymbp.backend.Backend;
import asymbp.backend.Backends;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.train.EpochStats;
import asymbp.train.LayerAlignment;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs a cell on the engine's {@link Trainer}, step by step, so that it can keep a training-loss trace
 * for learning curves, stop at the first diverged step, and record the alignment angles at
 * initialisation and after every epoch. Datasets are loaded once and the backend opened once per
 * runner, shared by all its cells.
 */
public final class TrainerCellRunner implements CellRunner {

    /** Loss-trace points per epoch. */
    static final int TRACE_POINTS = 25;

    private final Map<String, Dataset> datasets = new HashMap<>();
    private final Map<String, Backend> backends = new HashMap<>();

    static TrainConfig config(CellSpec c) {
        Stabiliser s = c.stab();
        if (s == null) throw new IllegalArgumentException("unknown stabiliser '" + c.stabiliser() + "'");
        return TrainConfig.defaults()
                .withDataset(c.dataset()).withModel(c.model()).withFeedback(c.feedback())
                .withBn(s.bn).withUpdate(s.update.cliName())
                .withEpochs(c.epochs()).withBatch(c.batch()).withLr(c.lr()).withMomentum(c.momentum())
                .withWeightDecay(c.weightDecay()).withLrSteps(c.lrSteps()).withLrFactor(c.lrFactor())
                .withSeed(c.seed()).withBackend(c.backend()).withDevice(c.device()).withLimit(c.limit())
                .withQuiet(true)
                .validate();
    }

    private Dataset dataset(String spec) {
        Dataset d = datasets.get(spec);
        if (d == null) {
            d = Datasets.load(spec);
            datasets.put(spec, d);
        }
        return d;
    }

    private Backend backend(CellSpec c, Consumer<String> log) throws Exception {
        String key = c.backend() + "#" + c.device();
        Backend b = backends.get(key);
        if (b == null) {
            b = Backends.open(c.backend(), c.device(), log);
            backends.put(key, b);
            log.accept("opened backend " + b.name() + ": " + b.deviceName());
        }
        return b;
    }

    @Override
    public CellResult run(CellSpec cell, Consumer<String> log) throws Exception {
        long t0 = System.nanoTime();
        TrainConfig cfg = config(cell);
        Dataset data = dataset(cell.dataset());
        Backend be = backend(cell, log);
        String device = be.name() + ": " + be.deviceName();
        List<CellResult.EpochRecord> epochs = new ArrayList<>();
        List<CellResult.TracePoint> trace = new ArrayList<>();
        List<CellResult.Alignment> alignment = new ArrayList<>();
        try (Trainer t = new Trainer(be, data, cfg)) {
            t.setLog(line -> {});
            addAlignment(alignment, 0, t.alignment());
            int spe = t.stepsPerEpoch();
            int window = Math.max(1, spe / TRACE_POINTS);
            for (int e = 0; e < cell.epochs(); e++) {
                long e0 = System.nanoTime();
                double lr = cfg.lrAt(e);
                double windowSum = 0;
                int windowN = 0;
                // All steps but the last one by hand (for the trace); trainEpoch runs the last and returns the
                // statistics of the whole epoch.
                for (int s = 0; s < spe - 1; s++) {
                    float loss = t.step();
                    if (t.diverged()) return diverged(cell, t, loss, e, epochs, trace, alignment, t0, device);
                    windowSum += loss;
                    if (++windowN == window) {
                        trace.add(new CellResult.TracePoint(e + (s + 1) / (double) spe, windowSum / windowN));
                        windowSum = 0;
                        windowN = 0;
                    }
                }
                EpochStats st = t.trainEpoch();
                if (st.diverged() || t.diverged())
                    return diverged(cell, t, Float.NaN, e, epochs, trace, alignment, t0, device);
                // The last step's own loss is not returned by trainEpoch; the trace ends with the step before.
                // (Closing each epoch with the epoch's mean loss would draw a false spike at the boundary.)
                if (windowN > 0) trace.add(new CellResult.TracePoint(e + (spe - 1) / (double) spe, windowSum / windowN));
                double trainSeconds = (System.nanoTime() - e0) / 1e9;
                double te = t.testError();
                epochs.add(new CellResult.EpochRecord(e + 1, st.loss(), st.trainError(), te, lr, trainSeconds));
                addAlignment(alignment, e + 1, t.alignment());
            }
        }
        CellResult.EpochRecord last = epochs.get(epochs.size() - 1);
        return new CellResult(cell, CellResult.OK, null, last.testError(), epochs, trace, alignment,
                GridRunner.secondsSince(t0), device, Instant.now().toString());
    }

    private static CellResult diverged(CellSpec cell, Trainer t, float loss, int epoch,
                                       List<CellResult.EpochRecord> epochs, List<CellResult.TracePoint> trace,
                                       List<CellResult.Alignment> alignment, long t0, String device) {
        String msg = String.format(Locale.ROOT, "loss %s at step %d (epoch %d; bound %.4g)",
                Float.isNaN(loss) ? "NaN or above the bound" : Float.toString(loss), t.divergedStep(), epoch + 1,
                t.divergeBound());
        return new CellResult(cell, CellResult.DIVERGED, msg, null, epochs, trace, alignment,
                GridRunner.secondsSince(t0), device, Instant.now().toString());
    }

    private static void addAlignment(List<CellResult.Alignment> out, int epoch, List<LayerAlignment> al) {
        for (LayerAlignment a : al)
            out.add(new CellResult.Alignment(epoch, a.layer(), a.name(), a.weightAngle(), a.errorAngle()));
    }

    @Override public void close() {
        for (Backend b : backends.values()) {
            try { b.close(); } catch (RuntimeException ignored) { /* closing is best effort */ }
        }
        backends.clear();
    }
}
