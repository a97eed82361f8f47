package asymbp.train;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import asymbp.backend.UpdateRule;
import asymbp.data.Dataset;
import asymbp.io.Json;
import asymbp.io.Npy;
import asymbp.io.WeightsException;
import asymbp.model.FeedbackSpec;
import asymbp.model.Net;
import asymbp.model.ParamLayout;
import asymbp.rng.Philox;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Trains one network on one backend (the orchestration layer). The dataset is uploaded once as bytes;
 * each epoch's seeded order (Fisher–Yates over Philox, step = epoch) is uploaded once per epoch; per
 * step the device gathers and standardises the batch, runs forward, loss, the asymmetric backward and
 * one update over the flat parameter buffer.
 *
 * <p>Epochs run their full batches through the backend's {@link StepReplay} in chunks: on cpu each
 * step still reads back its two loss statistics (the divergence test before the update); on opencl
 * the steps are enqueued back to back and on cuda replayed as a CUDA graph, both with that test in
 * device memory, so the host reads once per chunk. The run's first step, the first after a resume and a partial last batch
 * run eagerly ({@link #step}), with the same ops.
 */
public final class Trainer implements AutoCloseable {

    private final Backend be;
    private final Dataset data;
    private final TrainConfig cfg;
    private final Net net;
    private final FeedbackSpec fb;
    private final UpdateRule rule;
    private final boolean xavier;
    private final float[] initStd;
    private final double bound;
    private final int trainN, testN, maxBatch, evalBatch, stepsPerEpoch;
    /** The batch size of every step but possibly an epoch's last. */
    private final int fullBatch;

    private final Buffer images, labels, testImages, testLabels, meanInvStd, order, testOrder;
    private final Buffer batchLabels, stats, params, grads, velocity, state, stateBackup;
    private final Net.Workspace ws;
    private final float[] statsHost = new float[2];

    private int epoch;          // current epoch, 0-based
    private int stepInEpoch;    // steps done in the current epoch
    private int orderEpoch = -1;
    private long step;          // global steps done
    private boolean diverged;
    private long divergedStep = -1;
    private float divergedLoss;
    private double epochLoss, epochWrong;
    private long epochImages;
    private final List<EpochRecord> history = new ArrayList<>();
    /** Wall time of the invocations before the checkpoint this run resumed (0 for a fresh run). */
    private double priorWallSeconds;
    /** System.nanoTime() when the latest {@link #run} began (0 before any): this invocation's wall time counts from it. */
    private long runStartNanos;
    private Consumer<String> log = System.out::println;
    private RunInfo runInfo;
    /** What {@link #resumeFrom} gave, until the run takes it. */
    private Checkpoint resumeFrom;
    private final float[] meanInvStdHost;
    /** Steps of the first epoch this Trainer runs that the steady throughput leaves out (warm-up). */
    private final int warmupSteps;
    private boolean warmedUp;
    private boolean closed;
    /** Steps per {@link StepReplay} plan: the host waits (and the progress bar moves) once per chunk. */
    static final int REPLAY_CHUNK = 64;
    private final TrainStep trainStep = new FullBatchStep();
    private StepReplay replay;
    private boolean replayEnabled = true;
    /** A step ran eagerly since this Trainer was built or restored: the backend's scratch memory is sized. */
    private boolean replayReady;
    private long eagerSteps, replayedSteps;
    /** Steps per replay plan for this Trainer (finer plans give a finer loss trace; results do not change). */
    private int chunkSteps = REPLAY_CHUNK;
    private StepsListener stepsListener;

    /**
     * Told after every eager step and every replay chunk of {@link #trainEpoch}: the epoch (0-based), the
     * steps done in it, how many steps just ran, their summed loss (Σ stats[0]) and images. Grid cells
     * draw their loss trace from it, so the trace costs no extra device read.
     */
    @FunctionalInterface
    public interface StepsListener {
        void ran(int epoch, int stepInEpoch, int steps, double lossSum, long images);
    }

    public Trainer(Backend backend, Dataset dataset, TrainConfig config) {
        config.validate();
        this.be = backend;
        this.cfg = config;
        this.data = config.limit() > 0 ? dataset.limitTrain(config.limit()) : dataset;
        this.net = Net.build(cfg.model(), data.channels(), data.height(), data.width(), data.classes(), cfg.bn());
        this.fb = cfg.feedbackSpec();
        this.rule = cfg.updateRule();
        this.xavier = "xavier".equals(cfg.weightInit());
        this.bound = cfg.divergeBoundFor(data.classes());
        this.trainN = data.trainCount();
        this.testN = data.testCount();
        if (trainN < 1) throw new IllegalArgumentException("--dataset " + cfg.dataset() + ": no training images");
        this.fullBatch = Math.min(cfg.batch(), trainN);
        int b = fullBatch;
        int steps = (trainN + b - 1) / b;
        // A last batch of one image has no batch variance: drop it under BN.
        if (cfg.bn() && steps > 1 && trainN % b == 1) steps--;
        this.stepsPerEpoch = steps;
        this.evalBatch = cfg.evalBatch() > 0 ? cfg.evalBatch() : cfg.batch();
        this.maxBatch = Math.max(b, Math.min(evalBatch, Math.max(1, testN)));
        this.initStd = new float[net.weightLayers().size()];
        for (Net.WeightLayer w : net.weightLayers()) initStd[w.index()] = Net.initStd(w, xavier);

        this.warmupSteps = Math.max(1, Math.min(50, stepsPerEpoch / 10));
        checkMemory();

        // Host-side work that can fail (reading --init) comes before any device allocation.
        float[] p = net.initialParameters(cfg.seed(), xavier);
        float[] s = padState(net.initialState());
        if (cfg.init() != null) loadNpy(Path.of(cfg.init()), p, s);

        int f = data.features();
        images = be.alloc(DType.U8, (long) trainN * f);
        labels = be.alloc(DType.I32, trainN);
        testImages = be.alloc(DType.U8, Math.max(1L, (long) testN * f));
        testLabels = be.alloc(DType.I32, Math.max(1, testN));
        meanInvStd = be.alloc(DType.F32, 2L * data.channels());
        order = be.alloc(DType.I32, trainN);
        testOrder = be.alloc(DType.I32, Math.max(1, testN));
        batchLabels = be.alloc(DType.I32, maxBatch);
        stats = be.alloc(DType.F32, 2);
        long np = net.params().size(), ns = Math.max(1, net.state().size());
        params = be.alloc(DType.F32, np);
        grads = be.alloc(DType.F32, np);
        velocity = be.alloc(DType.F32, np);
        state = be.alloc(DType.F32, ns);
        stateBackup = be.alloc(DType.F32, ns);
        ws = net.workspace(be, maxBatch);

        be.upload(images, data.trainImages());
        be.upload(labels, data.trainLabels());
        if (testN > 0) {
            be.upload(testImages, data.testImages());
            be.upload(testLabels, data.testLabels());
            int[] id = new int[testN];
            for (int i = 0; i < testN; i++) id[i] = i;
            be.upload(testOrder, id);
        }
        meanInvStdHost = data.meanInvStd();
        be.upload(meanInvStd, meanInvStdHost);

        be.upload(params, p);
        be.upload(state, s);
        be.fill(velocity, 0f);
        be.fill(grads, 0f);
    }

    private float[] padState(float[] s) { return s.length == 0 ? new float[1] : s; }

    /**
     * Refuses, before anything is allocated, a model and batch whose memory the JVM does not have: the
     * host copies (initial parameters; a checkpoint's downloads and their .npy bytes) and, on the cpu
     * backend, every buffer (dataset, parameters, gradients, momentum, activations).
     */
    private void checkMemory() {
        long np = net.params().size(), ns = net.state().size();
        long acts = net.activationsPerExample(), argmax = net.argmaxPerExample();
        long perBatch = 2 * 4 * acts + 4 * argmax;
        if (perBatch > 0 && maxBatch > (Integer.MAX_VALUE - 8) / Math.max(1, 2 * acts))
            throw new IllegalArgumentException("--model " + cfg.model() + " with --batch " + maxBatch + ": "
                    + acts + " activations per image × " + maxBatch + " images do not fit one buffer (2^31−9 elements)");
        // what the backend holds: images and labels (train and test), parameters, gradients, momentum and
        // BN state, the workspace for the batch; the host keeps its own copies of parameters and state too
        long f = data.features();
        long images = (long) trainN * (f + 8) + (long) testN * (f + 8), model = 12 * np + 8 * ns, work = perBatch * maxBatch;
        long bytes = 16 * np + 8 * ns;
        if ("cpu".equals(be.name()) || "reference".equals(be.name())) bytes += images + model + work;
        String lack = asymbp.io.Memory.shortage(bytes);
        if (lack != null)
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "--model %s (%,d parameters, %,d activations per image) with batch %d on %s: %s",
                    cfg.model(), np, acts, maxBatch, be.name(), lack));
        asymbp.backend.DeviceMemory dm = be.deviceMemory();
        if (dm != null) checkDeviceMemory(dm, images, model, work, np, acts);
    }

    /**
     * Refuses, before anything is allocated on it, a run the device cannot hold: the images and labels
     * (train and test), parameters, gradients, momentum and BN state, and the workspace for the batch,
     * against what the device has; the largest of those buffers against its largest single allocation.
     * Lazily grown scratch is not counted, so a run refused here could never have run.
     */
    private void checkDeviceMemory(asymbp.backend.DeviceMemory dm, long images, long model, long work, long np, long acts) {
        long need = images + model + work;
        String what = String.format(Locale.ROOT, "--model %s with --batch %d on %s (%s)", cfg.model(), maxBatch, be.name(),
                be.deviceName());
        if (need > dm.available())
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s: needs %s of device memory (%s for %,d training and %,d test images: lower --limit; %s for the"
                            + " parameters, gradients and momentum; %s of activations for batch %d: lower --batch or choose"
                            + " a smaller --model), the device has %s (%s)",
                    what, gib(need), gib(images), trainN, testN, gib(model), gib(work), maxBatch, gib(dm.available()), dm.source()));
        long trainImages = (long) trainN * data.features(), actBuffer = 4 * acts * maxBatch, paramBuffer = 4 * np;
        long largest = Math.max(trainImages, Math.max(actBuffer, paramBuffer));
        if (largest > dm.largestAllocation()) {
            String which = largest == trainImages ? "the training images (" + gib(trainImages) + "): lower --limit"
                    : largest == actBuffer ? "the activations for batch " + maxBatch + " (" + gib(actBuffer) + "): lower --batch"
                    : "the parameters (" + gib(paramBuffer) + "): choose a smaller --model";
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "%s: its largest buffer, %s; the device allocates at most %s at once (%s)",
                    what, which, gib(dm.largestAllocation()), dm.source()));
        }
    }

    private static String gib(long bytes) { return asymbp.io.Memory.gib(bytes); }

    // ------------------------------------------------------------------ accessors

    public Net net() { return net; }
    public TrainConfig config() { return cfg; }
    public Dataset dataset() { return data; }
    public Backend backend() { return be; }
    public int stepsPerEpoch() { return stepsPerEpoch; }
    /** Global training steps done. */
    public long steps() { return step; }
    /** Epochs fully done. */
    public int epochsDone() { return stepInEpoch >= stepsPerEpoch ? epoch + 1 : epoch; }
    public boolean diverged() { return diverged; }
    public long divergedStep() { return divergedStep; }
    public float divergedLoss() { return divergedLoss; }
    public double divergeBound() { return bound; }
    public List<EpochRecord> history() { return List.copyOf(history); }
    public void setLog(Consumer<String> log) { this.log = log; }
    /** Whether {@link #trainEpoch} may use the backend's {@link StepReplay} (default true); false runs every step eagerly. */
    public void setReplay(boolean enabled) {
        replayEnabled = enabled;
        closeReplay();
    }
    public void setStepsListener(StepsListener l) { this.stepsListener = l; }
    /** At most {@code steps} (1..{@value #REPLAY_CHUNK}) steps per replay plan: one host read per plan. */
    public void setReplayChunk(int steps) {
        if (steps < 1 || steps > REPLAY_CHUNK) throw new IllegalArgumentException("replay chunk " + steps + ": must be in 1.." + REPLAY_CHUNK);
        chunkSteps = steps;
    }
    /** Steps run eagerly / through the backend's StepReplay by this Trainer (diagnostics, tests). */
    public long eagerSteps() { return eagerSteps; }
    public long replayedSteps() { return replayedSteps; }

    public float[] parameters() { return download(params, net.params().size()); }
    public float[] velocity() { return download(velocity, net.params().size()); }
    public float[] gradients() { return download(grads, net.params().size()); }
    /** BN running statistics, laid out as {@code net().state()}. */
    public float[] bnState() { return download(state, net.state().size()); }

    public void setParameters(float[] p) {
        if (p.length != net.params().size()) throw new IllegalArgumentException(p.length + " parameters, expected " + net.params().size());
        be.upload(params, p);
    }

    private float[] download(Buffer b, long n) {
        float[] out = new float[(int) n];
        if (n > 0) be.download(out, b.slice(0, n));
        return out;
    }

    // ------------------------------------------------------------------ training

    /** The Fisher–Yates order of epoch {@code e}: swaps drawn by Philox (purpose shuffle, step = e). */
    public static int[] epochOrder(long seed, int e, int n) {
        int[] o = new int[n];
        for (int i = 0; i < n; i++) o[i] = i;
        for (int i = n - 1; i > 0; i--) {
            long r = Philox.word(seed, Philox.PURPOSE_SHUFFLE, 0, e, i) & 0xffffffffL;
            int j = (int) ((r * (i + 1)) >>> 32);
            int t = o[i]; o[i] = o[j]; o[j] = t;
        }
        return o;
    }

    private void ensureOrder() {
        if (stepInEpoch >= stepsPerEpoch) {
            epoch++;
            stepInEpoch = 0;
        }
        if (orderEpoch != epoch) {
            be.upload(order, epochOrder(cfg.seed(), epoch, trainN));
            orderEpoch = epoch;
        }
        if (stepInEpoch == 0) {
            epochLoss = 0;
            epochWrong = 0;
            epochImages = 0;
        }
    }

    private int batchAt(int stepIndex) {
        return Math.min(fullBatch, trainN - stepIndex * fullBatch);
    }

    /** Loads batch {@code stepIndex} of the current order, runs forward and the loss; returns the batch size. */
    private int forwardLoss(int stepIndex, boolean training) {
        int b = batchAt(stepIndex);
        enqueueForwardLoss(images, labels, order, stepIndex * fullBatch, b, training);
        be.download(statsHost, stats);
        return b;
    }

    /** Gathers batch [start, start+b) of {@code order} over {@code imgs}/{@code labs}, forward, loss into stats. */
    private void enqueueForwardLoss(Buffer imgs, Buffer labs, Buffer ord, int start, int b, boolean training) {
        be.gatherStandardize(ws.input(b), batchLabels.slice(0, b), imgs, labs, ord, meanInvStd,
                start, b, data.features(), data.plane());
        net.forward(be, ws, params, state, b, training);
        be.softmaxCrossEntropy(ws.dlogits(b), stats, ws.logits(b), batchLabels.slice(0, b), b, data.classes());
    }

    private void enqueueBackwardUpdate(int b, int t, float lr, boolean firstStep) {
        net.backward(be, ws, params, grads, b, layer -> feedback(layer, t), directFeedback(), false);
        be.applyUpdate(params, velocity, grads, rule, lr, (float) cfg.momentum(), (float) cfg.weightDecay(), firstStep);
    }

    /** A training step on a full batch, as the backend's StepReplay runs it. */
    private final class FullBatchStep implements TrainStep {
        @Override public void forwardLoss(int start) { enqueueForwardLoss(images, labels, order, start, fullBatch, true); }
        @Override public void backwardUpdate(int t, float lr, boolean firstStep) { enqueueBackwardUpdate(fullBatch, t, lr, firstStep); }
    }

    /** The feedback of weight layer {@code layer} at global step {@code t} (its own backward; bp under dfa). */
    public Feedback feedback(int layer, long t) {
        int last = net.weightLayers().size() - 1;
        Net.WeightLayer w = net.weightLayers().get(layer);
        return fb.forLayer(cfg.seed(), layer, (int) t, layer == last, initStd[layer], w.fanIn(), w.fanOut());
    }

    /** dfa's B_l of weight layer {@code layer} (null: its input gradient is its own), or null when not dfa. */
    public Feedback direct(int layer) {
        if (!fb.direct()) return null;
        int last = net.weightLayers().size() - 1;
        Net.WeightLayer w = net.weightLayers().get(layer);
        return fb.direct(cfg.seed(), layer, layer == last, initStd[layer], net.classes(), w.inFeatures());
    }

    /** The direct feedback Net.backward takes: null unless dfa. */
    private java.util.function.IntFunction<Feedback> directFeedback() {
        return fb.direct() ? this::direct : null;
    }

    /**
     * One training step on the next batch of the epoch's order; returns that batch's mean loss. A loss
     * that is NaN, ±Inf or above the bound marks the run diverged and skips the update.
     */
    public float step() {
        if (diverged) throw new IllegalStateException("the run diverged at step " + divergedStep);
        ensureOrder();
        int b = forwardLoss(stepInEpoch, true);
        float loss = statsHost[0] / b;
        if (StepReplay.diverged(loss, bound)) {
            diverged = true;
            divergedStep = step;
            divergedLoss = loss;
            return loss;
        }
        enqueueBackwardUpdate(b, (int) step, (float) cfg.lrAt(epoch), step == 0);
        epochLoss += statsHost[0];
        epochWrong += statsHost[1];
        epochImages += b;
        stepInEpoch++;
        step++;
        eagerSteps++;
        replayReady = true;
        return loss;
    }

    /**
     * How many of the next steps {@link #replayChunk} may run: up to {@link #REPLAY_CHUNK} full-batch
     * steps of the current epoch; 0 when replay is off, when no step ran eagerly yet in this Trainer
     * (the first one sizes the backend's scratch memory) or when the next batch is partial.
     */
    private int replayable() {
        if (!replayEnabled || !replayReady) return 0;
        // Only an epoch's last batch can be partial.
        int fullSteps = batchAt(stepsPerEpoch - 1) == fullBatch ? stepsPerEpoch : stepsPerEpoch - 1;
        // Chunks end on multiples of chunkSteps, so their boundaries (and a trace drawn from them) do not
        // depend on where an eager step fell (the run's first, the first after a resume).
        return Math.max(0, Math.min(chunkSteps - stepInEpoch % chunkSteps, fullSteps - stepInEpoch));
    }

    /** {@code full} full-batch steps through the backend's StepReplay; returns their mean loss (or the diverged loss). */
    private float replayChunk(int full) {
        int fb = fullBatch;
        if (replay == null) replay = be.replay(trainStep, stats, fb, bound);
        int[] starts = new int[full];
        for (int i = 0; i < full; i++) starts[i] = (stepInEpoch + i) * fb;
        replay.plan(starts, (int) step, (float) cfg.lrAt(epoch), step == 0);
        for (int i = 0; i < full; i++) replay.launch();
        StepReplay.Outcome o = replay.finish();
        epochLoss += o.lossSum();
        epochWrong += o.wrongSum();
        epochImages += (long) o.updated() * fb;
        stepInEpoch += o.updated();
        step += o.updated();
        replayedSteps += o.updated();
        if (o.halted()) {
            diverged = true;
            divergedStep = o.haltStep();
            divergedLoss = o.haltLoss();
            return o.haltLoss();
        }
        return (float) (o.lossSum() / Math.max(1L, (long) o.updated() * fb));
    }

    private void closeReplay() {
        if (replay != null) {
            replay.close();
            replay = null;
        }
    }

    /** Runs the rest of the current epoch (or the next one); stops early on divergence. */
    public EpochStats trainEpoch() {
        return trainEpoch(false);
    }

    private EpochStats trainEpoch(boolean progress) {
        ensureOrder();
        int e = epoch;
        long t0 = System.nanoTime();
        long steadyT0 = warmedUp ? t0 : -1, steadyImages0 = epochImages;
        ProgressBar bar = progress ? new ProgressBarBuilder().setTaskName("epoch " + (e + 1))
                .setInitialMax(stepsPerEpoch).setConsumer(new ConsoleProgressBarConsumer(System.err))
                .setUpdateIntervalMillis(250).build() : null;
        try {
            while (stepInEpoch < stepsPerEpoch && !diverged) {
                int n = replayable(), s0 = stepInEpoch;
                double l0 = epochLoss;
                long i0 = epochImages;
                float loss = n > 0 ? replayChunk(n) : step();
                if (steadyT0 < 0 && stepInEpoch >= warmupSteps) {
                    steadyT0 = System.nanoTime();
                    steadyImages0 = epochImages;
                    warmedUp = true;
                }
                if (stepsListener != null && stepInEpoch > s0)
                    stepsListener.ran(e, stepInEpoch, stepInEpoch - s0, epochLoss - l0, epochImages - i0);
                if (bar != null) {
                    bar.stepTo(stepInEpoch);
                    bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", loss));
                }
            }
        } finally {
            if (bar != null) bar.close();
        }
        be.sync();
        long t1 = System.nanoTime();
        double sec = (t1 - t0) / 1e9;
        long n = Math.max(1, epochImages);
        double steady = steadyT0 >= 0 && epochImages > steadyImages0 && t1 > steadyT0
                ? (epochImages - steadyImages0) / ((t1 - steadyT0) / 1e9) : Double.NaN;
        return new EpochStats(e + 1, epochLoss / n, 100.0 * epochWrong / n, epochImages, sec,
                epochImages / Math.max(sec, 1e-9), diverged, steady);
    }

    /** Test error % with BN in evaluation mode, in batches of the eval batch size (last one partial). */
    public double testError() {
        if (testN == 0) return Double.NaN;
        long wrong = 0;
        int eb = Math.min(evalBatch, maxBatch);
        for (int start = 0; start < testN; start += eb) {
            int b = Math.min(eb, testN - start);
            enqueueForwardLoss(testImages, testLabels, testOrder, start, b, false);
            be.download(statsHost, stats);
            wrong += Math.round(statsHost[1]);
        }
        return 100.0 * wrong / testN;
    }

    /**
     * Forward, loss and backward on the first batch of the current epoch's order with the configured
     * feedback, no update (gradient checks). Returns the batch's mean loss; gradients via {@link #gradients()}.
     */
    public float lossAndGradients() {
        ensureOrder();
        int b = forwardLoss(0, true);
        final long t = step;
        net.backward(be, ws, params, grads, b, layer -> feedback(layer, t), directFeedback(), false);
        be.sync();
        return statsHost[0] / b;
    }

    /** The mean loss of the first batch of the current epoch's order (training-mode BN), no backward. */
    public float batchLoss() {
        ensureOrder();
        int b = forwardLoss(0, true);
        return statsHost[0] / b;
    }

    /**
     * Per weight layer: the angle between V and W, and the angle between the error passed back to the
     * layer's input under the configured feedback and under full bp, on the first batch of the current
     * order. BN running statistics are restored afterwards, so training is not disturbed. Under dfa the
     * error angle is that of e·B_l against backprop's input gradient, and a layer fed by its B_l has no
     * V of W's shape: its V–W angle is NaN.
     */
    public List<LayerAlignment> alignment() {
        ensureOrder();
        be.copy(stateBackup, state);
        final long t = step;
        List<Net.WeightLayer> wls = net.weightLayers();
        int b = forwardLoss(0, true);
        float[][] asym = new float[wls.size()][];
        net.backward(be, ws, params, grads, b, layer -> feedback(layer, t), directFeedback(), true);
        for (Net.WeightLayer w : wls) asym[w.index()] = download(ws.grad(w.inAct(), b), ws.grad(w.inAct(), b).length());
        net.backward(be, ws, params, grads, b, layer -> Feedback.bp(), true);
        float[] p = parameters();
        List<LayerAlignment> out = new ArrayList<>();
        for (Net.WeightLayer w : wls) {
            float[] sym = download(ws.grad(w.inAct(), b), ws.grad(w.inAct(), b).length());
            if (direct(w.index()) != null) {
                out.add(new LayerAlignment(w.index(), w.name(), Double.NaN, angle(asym[w.index()], sym)));
                continue;
            }
            Feedback f = feedback(w.index(), t);
            double dot = 0, vv = 0, ww = 0;
            for (long i = 0; i < w.weightSize(); i++) {
                float wi = p[(int) (w.weightOffset() + i)];
                float vi = f.v(wi, i);
                dot += (double) vi * wi;
                vv += (double) vi * vi;
                ww += (double) wi * wi;
            }
            out.add(new LayerAlignment(w.index(), w.name(), angle(dot, vv, ww), angle(asym[w.index()], sym)));
        }
        be.copy(state, stateBackup);
        be.sync();
        return out;
    }

    private static double angle(float[] a, float[] b) {
        double dot = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return angle(dot, aa, bb);
    }

    private static double angle(double dot, double aa, double bb) {
        if (aa == 0 || bb == 0) return Double.NaN;
        double c = dot / Math.sqrt(aa * bb);
        return Math.toDegrees(Math.acos(Math.max(-1, Math.min(1, c))));
    }

    // ------------------------------------------------------------------ checkpoints and weights

    /** The state after the last finished epoch, for {@link Checkpoint#write}. */
    public Checkpoint checkpoint() {
        if (stepInEpoch != 0 && stepInEpoch < stepsPerEpoch)
            throw new IllegalStateException("checkpoints are taken between epochs");
        return new Checkpoint(new Checkpoint.Header(cfg, epochsDone(), step, history(), wallSecondsSoFar()),
                parameters(), velocity(), bnState());
    }

    /** Continues from a checkpoint: parameters, momentum, BN statistics, epoch, step and history. */
    public void restore(Checkpoint c) {
        TrainConfig o = c.header().config();
        if (!o.model().equals(cfg.model()) || o.bn() != cfg.bn() || !o.dataset().equals(cfg.dataset())
                || !o.feedback().equals(cfg.feedback()) || o.seed() != cfg.seed())
            throw new IllegalArgumentException("--resume: the checkpoint was written by a different run (model "
                    + o.model() + ", dataset " + o.dataset() + ", feedback " + o.feedback() + ", bn " + o.bn()
                    + ", seed " + o.seed() + ")");
        if (c.params().length != net.params().size() || c.velocity().length != net.params().size()
                || c.state().length != net.state().size())
            throw new IllegalArgumentException("--resume: checkpoint sizes do not match the model");
        closeReplay();
        replayReady = false; // the first step after a resume runs eagerly again
        be.upload(params, c.params());
        be.upload(velocity, c.velocity());
        be.upload(state, padState(c.state()));
        epoch = c.header().epochs();
        stepInEpoch = 0;
        orderEpoch = -1;
        step = c.header().step();
        history.clear();
        history.addAll(c.header().history());
        priorWallSeconds = c.header().wallSecondsOrTrainingTime();
    }

    /** The run's wall time over every invocation: those before the resumed checkpoint, and this one so far. */
    private double wallSecondsSoFar() {
        return priorWallSeconds + invocationSeconds();
    }

    /** This invocation's wall time so far (0 before {@link #run}). */
    private double invocationSeconds() {
        return runStartNanos == 0 ? 0 : (System.nanoTime() - runStartNanos) / 1e9;
    }

    /**
     * Writes every named tensor (parameters and BN statistics) as DIR/NAME.npy, PyTorch shapes, and what
     * PyTorch needs besides to rebuild the run (docs/spec.md §6): each BN layer's num_batches_tracked
     * (int64, the training steps so far), the input standardisation exactly as gatherStandardize applies
     * it (input_mean.npy, input_inv_std.npy, per channel) and model.json (model, input shape, classes).
     */
    public void exportWeights(Path dir) throws IOException {
        Files.createDirectories(dir);
        float[] p = parameters(), s = bnState();
        for (ParamLayout.Entry e : net.params().entries())
            Npy.write(dir.resolve(e.name() + ".npy"), e.shape(), p, (int) e.offset(), (int) e.size());
        for (ParamLayout.Entry e : net.state().entries())
            Npy.write(dir.resolve(e.name() + ".npy"), e.shape(), s, (int) e.offset(), (int) e.size());
        for (Net.Layer l : net.layers())
            if (l instanceof Net.BatchNorm n)
                Npy.writeInt64(dir.resolve(n.name() + ".num_batches_tracked.npy"), new int[0], new long[] {step});
        int c = data.channels();
        // The exact floats uploaded for gather_standardize (the host keeps them; no device read).
        Npy.write(dir.resolve("input_mean.npy"), new int[] {c}, meanInvStdHost, 0, c);
        Npy.write(dir.resolve("input_inv_std.npy"), new int[] {c}, meanInvStdHost, c, c);
        var model = Json.MAPPER.createObjectNode().put("model", cfg.model()).put("bn", cfg.bn())
                .put("channels", c).put("height", data.height()).put("width", data.width())
                .put("classes", data.classes()).put("bn_eps", Net.BN_EPS).put("bn_momentum", Net.BN_MOMENTUM);
        byte[] json = Json.MAPPER.writeValueAsBytes(model);
        asymbp.io.AtomicFiles.write(dir.resolve(MODEL_JSON), out -> out.write(json));
    }

    /** Every tensor from DIR/NAME.npy; each must be finite (Npy.read) and a BN running variance ≥ 0. */
    private void loadNpy(Path dir, float[] p, float[] s) {
        if (!Files.isDirectory(dir)) throw new WeightsException("--init " + dir + ": not a directory");
        for (ParamLayout.Entry e : net.params().entries())
            Npy.read(dir.resolve(e.name() + ".npy"), e.shape(), p, (int) e.offset());
        for (ParamLayout.Entry e : net.state().entries()) {
            Npy.read(dir.resolve(e.name() + ".npy"), e.shape(), s, (int) e.offset());
            if (e.name().endsWith(".running_var"))
                for (int i = 0; i < e.size(); i++)
                    if (s[(int) e.offset() + i] < 0)
                        throw new WeightsException(dir.resolve(e.name() + ".npy") + ": element " + i + " is "
                                + s[(int) e.offset() + i] + "; a running variance must be ≥ 0");
        }
    }

    // ------------------------------------------------------------------ the whole run

    /**
     * The checkpoint a resumed {@link #run} continues from: DIR/checkpoint.npz as the caller already read
     * it ({@link Checkpoint#read}), so that the file is read once. The run takes it (and lets its arrays go
     * once they are on the backend); without one it reads the file itself.
     */
    public void resumeFrom(Checkpoint loaded) { this.resumeFrom = loaded; }

    /** The checkpoint given to {@link #resumeFrom}, no longer held here, or else the one in {@code ckpt}. */
    private Checkpoint takeResume(Path ckpt) throws IOException {
        Checkpoint c = resumeFrom;
        resumeFrom = null;
        return c != null ? c : Checkpoint.read(ckpt);
    }

    /** Files {@link #run} writes in its folder. */
    public static final String RESULT = "result.json", METRICS = "metrics.csv", LOG = "train.log", WEIGHTS = "weights";
    /** The model description written beside the exported weights (read by python/asymbp_torch.py). */
    public static final String MODEL_JSON = "model.json";

    /** Version, commit, command line and machine recorded by {@link #run}; default: this build, no command line. */
    public void setRunInfo(RunInfo info) { this.runInfo = info; }

    /**
     * The whole run: epochs up to {@code config().epochs()}, after each a test evaluation, the alignment
     * metrics, one output line and an atomic checkpoint, then DIR/metrics.csv (one row per epoch) and
     * DIR/result.json (status "running"); every line logged also goes to DIR/train.log as it happens. At
     * the end the weights as .npy under DIR/weights/ and the final DIR/result.json. With
     * {@code config().resume()} it first continues from DIR/checkpoint.npz (as {@link #resumeFrom} gave it,
     * if given), and a run that already has its epochs changes nothing. A diverged run stops at once; its state is never checkpointed. Which
     * folders may be written (and by whom) is the caller's business (the CLI's RunFolder).
     */
    public RunResult run(Path outDir) throws IOException {
        runStartNanos = System.nanoTime();
        String started = java.time.Instant.now().toString();
        RunInfo info = runInfo != null ? runInfo : RunInfo.of(List.of());
        try {
            Files.createDirectories(outDir);
        } catch (IOException e) {
            throw asymbp.io.IoErrors.wrap("create output folder", outDir, e);
        }
        Path ckpt = outDir.resolve(Checkpoint.FILE);
        int resumedFrom = 0;
        if (cfg.resume()) {
            restore(takeResume(ckpt));
            resumedFrom = epochsDone();
            if (resumedFrom >= cfg.epochs()) {
                log.accept(String.format(Locale.ROOT, "nothing to do: %s already holds %d of %d epochs",
                        outDir, resumedFrom, cfg.epochs()));
                return result(RunResult.FINISHED, info, started, resumedFrom);
            }
        }
        Path logFile = outDir.resolve(LOG);
        java.io.Writer logOut;
        try {
            logOut = Files.newBufferedWriter(logFile, java.nio.charset.StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw asymbp.io.IoErrors.wrap("write", logFile, e);
        }
        Consumer<String> console = log;
        IOException[] logFailure = {null};
        Consumer<String> both = line -> {
            console.accept(line);
            if (logFailure[0] != null) return;
            try {
                logOut.write(java.time.Instant.now() + "  " + line + "\n");
                logOut.flush();
            } catch (IOException e) {
                logFailure[0] = asymbp.io.IoErrors.wrap("write", logFile, e);
            }
        };
        String cmd = String.join(" ", info.commandLine());
        try {
            // The provenance line goes to the file only; the console shows the header below.
            logOut.write(java.time.Instant.now() + "  " + String.format(Locale.ROOT, "%s asymbp %s (commit %s) on %s, %s%s",
                    resumedFrom > 0 ? "resumed at epoch " + resumedFrom + ":" : "started:", info.version(),
                    info.gitCommit(), info.host(), info.java(), cmd.isEmpty() ? "" : "; command: " + cmd) + "\n");
            logOut.flush();
        } catch (IOException e) {
            logOut.close();
            throw asymbp.io.IoErrors.wrap("write", logFile, e);
        }
        log = both;
        try {
            return runEpochs(outDir, ckpt, info, started, resumedFrom, logFailure);
        } finally {
            log = console;
            try {
                logOut.close();
            } catch (IOException ignored) {
                // a failed write was already reported
            }
        }
    }

    private RunResult runEpochs(Path outDir, Path ckpt, RunInfo info, String started, int resumedFrom,
                                IOException[] logFailure) throws IOException {
        boolean progress = !cfg.quiet() && stderrIsTerminal();
        if (!cfg.quiet())
            log.accept(String.format(Locale.ROOT, "%s on %s [%s]: %s, %s, %s%s, %d parameters, %d train / %d test images",
                    cfg.model(), be.name(), be.deviceName(), cfg.dataset(), cfg.feedback(), cfg.update(),
                    cfg.bn() ? "+bn" : "", net.params().size(), trainN, testN));
        writeRecords(outDir, result(RunResult.RUNNING, info, started, resumedFrom));
        while (epochsDone() < cfg.epochs() && !diverged) {
            double lr = cfg.lrAt(epochsDone());
            EpochStats s = trainEpoch(progress);
            if (s.diverged()) {
                int kept = history.size();
                log.accept(String.format(Locale.ROOT, "epoch %d DIVERGED at step %d: loss %s (bound %.4g); %s",
                        s.epoch(), divergedStep, divergedLoss, bound,
                        kept > 0 ? Checkpoint.FILE + " keeps epoch " + kept + ", the last good one"
                                : "no epoch had finished, so there is no checkpoint"));
                break;
            }
            double te = testError();
            List<LayerAlignment> al = alignment();
            history.add(new EpochRecord(s.epoch(), s.loss(), s.trainError(), te, lr, s.imagesPerSecond(), s.seconds(), al,
                    s.images(), s.imagesPerSecondSteady()));
            log.accept(String.format(Locale.ROOT, "epoch %3d  loss %.4f  train err %6.2f%%  test err %6.2f%%  %8.0f img/s  %6.1f s",
                    s.epoch(), s.loss(), s.trainError(), te, s.imagesPerSecond(), s.seconds()));
            checkpoint().write(ckpt);
            if (logFailure[0] != null) throw logFailure[0];
            if (epochsDone() < cfg.epochs()) writeRecords(outDir, result(RunResult.RUNNING, info, started, resumedFrom));
        }
        if (!diverged) {
            try {
                Files.createDirectories(outDir.resolve(WEIGHTS));
            } catch (IOException e) {
                throw asymbp.io.IoErrors.wrap("create", outDir.resolve(WEIGHTS), e);
            }
            exportWeights(outDir.resolve(WEIGHTS));
        }
        RunResult r = result(diverged ? RunResult.DIVERGED : RunResult.FINISHED, info, started, resumedFrom);
        writeRecords(outDir, r);
        log.accept(String.format(Locale.ROOT, "%s after %d epoch(s); %s written", r.status(), r.epochs(), RESULT));
        if (logFailure[0] != null) throw logFailure[0];
        return r;
    }

    /** metrics.csv from the history, then result.json; each atomically. */
    private void writeRecords(Path outDir, RunResult r) throws IOException {
        StringBuilder csv = new StringBuilder("epoch,loss,train_error,test_error,lr,seconds,images,images_per_second,images_per_second_steady");
        for (Net.WeightLayer w : net.weightLayers())
            csv.append(",weight_angle_").append(w.name()).append(",error_angle_").append(w.name());
        csv.append('\n');
        for (EpochRecord e : history) {
            csv.append(e.epoch());
            for (double v : new double[] {e.loss(), e.trainError(), e.testError(), e.lr(), e.seconds()}) csv.append(',').append(num(v));
            csv.append(',').append(e.images()).append(',').append(num(e.imagesPerSecond())).append(',').append(num(e.imagesPerSecondSteady()));
            for (LayerAlignment a : e.alignment()) csv.append(',').append(num(a.weightAngle())).append(',').append(num(a.errorAngle()));
            csv.append('\n');
        }
        byte[] csvBytes = csv.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        asymbp.io.AtomicFiles.write(outDir.resolve(METRICS), out -> out.write(csvBytes));
        byte[] json = Json.REPORT.writeValueAsBytes(r);
        asymbp.io.AtomicFiles.write(outDir.resolve(RESULT), out -> out.write(json));
    }

    /** A CSV number: shortest round-trip form; empty when not finite. */
    private static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "";
    }

    private RunResult result(String status, RunInfo info, String started, int resumedFrom) {
        double images = 0, seconds = 0;
        List<Double> steady = new ArrayList<>();
        for (EpochRecord e : history) {
            images += e.images();
            seconds += e.seconds();
            if (Double.isFinite(e.imagesPerSecondSteady())) steady.add(e.imagesPerSecondSteady());
        }
        java.util.Collections.sort(steady);
        Double medianSteady = steady.isEmpty() ? null : steady.size() % 2 == 1 ? steady.get(steady.size() / 2)
                : (steady.get(steady.size() / 2 - 1) + steady.get(steady.size() / 2)) / 2;
        boolean done = !RunResult.RUNNING.equals(status);
        Double testError = !RunResult.FINISHED.equals(status) || history.isEmpty() ? null
                : history.get(history.size() - 1).testError();
        String cause = !diverged ? null : Float.isNaN(divergedLoss) ? "loss is NaN"
                : Float.isInfinite(divergedLoss) ? "loss is infinite" : "loss above the bound";
        String now = java.time.Instant.now().toString();
        double invocation = invocationSeconds();
        return new RunResult(status, testError, seconds > 0 ? images / seconds : 0, medianSteady, diverged, divergedStep,
                diverged && Float.isFinite(divergedLoss) ? (double) divergedLoss : null, cause,
                history.size(), step, resumedFrom, be.name(), be.deviceName(), invocation, priorWallSeconds + invocation,
                net.params().size(), started, now, done ? now : null, cfg, resolved(), info, history());
    }

    /** The values in force where the configuration says "default". */
    public RunResult.Resolved resolved() {
        // fa/dfa: σ of each B_l (its bound when uniform); the sign modes: the scale each layer's V uses.
        java.util.Map<String, Double> sigma = null, scale = null;
        String bDistribution = null;
        boolean random = fb.mode() == asymbp.backend.FeedbackMode.FA || fb.direct();
        if (fb.mode() != asymbp.backend.FeedbackMode.BP) {
            java.util.Map<String, Double> m = new java.util.LinkedHashMap<>();
            for (Net.WeightLayer w : net.weightLayers()) {
                Feedback f = fb.direct() ? direct(w.index()) : feedback(w.index(), 0);
                if (f == null || f.mode() == asymbp.backend.FeedbackMode.BP) continue;
                m.put(w.name(), (double) (random ? f.sigma() : f.scale()));
                if (random) bDistribution = f.uniformB() ? "uniform" : "normal";
            }
            if (random) sigma = m;
            else scale = m;
        }
        int c = data.channels();
        double[] mean = new double[c], std = new double[c];
        for (int k = 0; k < c; k++) {
            mean[k] = meanInvStdHost[k];
            std[k] = 1.0 / meanInvStdHost[c + k];
        }
        return new RunResult.Resolved(bound, sigma, bDistribution, scale, mean, std, evalBatch, trainN, testN, stepsPerEpoch,
                new java.util.TreeMap<>(be.kernelVersions()));
    }

    /** JDK 22+ returns a Console even when redirected; there Console.isTerminal() tells. */
    private static boolean stderrIsTerminal() {
        java.io.Console c = System.console();
        if (c == null) return false;
        try {
            return (Boolean) java.io.Console.class.getMethod("isTerminal").invoke(c);
        } catch (NoSuchMethodException e) {
            return true; // JDK 17–21: a non-null console means a terminal
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false;
        }
    }

    @Override public void close() {
        if (closed) return;
        closed = true;
        closeReplay();
        ws.close();
        for (Buffer b : new Buffer[] {images, labels, testImages, testLabels, meanInvStd, order, testOrder,
                batchLabels, stats, params, grads, velocity, state, stateBackup})
            be.free(b);
    }

}
