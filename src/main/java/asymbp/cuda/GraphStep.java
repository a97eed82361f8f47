package asymbp.cuda;

import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.DeviceBackend;
import asymbp.backend.Kernel;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

import static asymbp.cuda.CudaDriver.check;

/**
 * The CUDA {@link StepReplay}: one steady-state training step recorded as a CUDA graph and replayed
 * with a single cuGraphLaunch per step.
 *
 * <p>Kernel arguments are frozen at capture, so everything that changes from step to step lives in
 * device memory, in one control buffer of ints:
 * <pre>
 *   [0]      counter: the next table slot
 *   [4..12)  current StepScalars {start, step, firstStep, lr, halted, haltStep, haltLoss, pad}
 *   [12..)   table of PlannedStep {start, step, firstStep, lr}, written by {@link #plan}
 * </pre>
 * The graph is (kernels/step_replay.cu, version 2): step_replay_v2_advance (current ← table[counter++],
 * the halt fields kept) → the step's forward and loss → step_replay_v2_guard (the Trainer's divergence
 * rule; sets halted) → backward and update (apply_update_v2 does nothing once halted) →
 * step_replay_v2_accumulate (adds the step's loss statistics unless halted). The tuned ops read their
 * step scalars from the current slot while captured (see {@link DeviceBackend#capture}); a replay needs
 * no host work beyond the launch, and the host
 * reads the sums and the halt fields once per plan, in {@link #finish}.
 *
 * <p>The graph holds raw pointers, including the backend's scratch buffers. When the backend grows a
 * scratch buffer (e.g. an evaluation pass with a larger batch), it frees the old one: {@link #plan}
 * sees the backend's scratch generation change and records the graph again.
 */
public final class GraphStep implements StepReplay {

    /** Ints per table slot (PlannedStep) and per current slot (StepScalars). */
    private static final int PLANNED = 4, SCALARS = 8;
    private static final int CURRENT = 4, TABLE = CURRENT + SCALARS;
    private static final int HALTED = CURRENT + 4, HALT_STEP = CURRENT + 5, HALT_LOSS = CURRENT + 6;

    /** Default table capacity: the most steps one {@link #plan} can hold (16 bytes each). */
    public static final int DEFAULT_CAPACITY = 1 << 16;

    private final DeviceBackend backend;
    /** Null for a step that is only enqueued, never recorded (CudaLaunchAbiTest). */
    private final CudaDevice dev;
    private final TrainStep step;
    private final Buffer stats;
    private final int batch;
    private final double bound;
    private final Buffer control;
    private final Buffer statsAcc;
    private final int capacity;
    private CUgraph graph;
    private CUgraphExec exec;
    private long scratchGeneration;
    private int planned, launched, planFirstStep;

    private GraphStep(DeviceBackend backend, CudaDevice dev, TrainStep step, Buffer stats, int batch, double bound, int capacity) {
        this.backend = backend;
        this.dev = dev;
        this.step = step;
        this.stats = stats;
        this.batch = batch;
        this.bound = bound;
        this.capacity = capacity;
        this.control = backend.alloc(DType.I32, TABLE + (long) PLANNED * capacity);
        Buffer acc = null;
        try {
            acc = backend.alloc(DType.F32, 2);
        } catch (RuntimeException e) {
            backend.free(control);
            throw e;
        }
        this.statsAcc = acc;
    }

    /** Records {@code step} (nothing runs yet); see {@link DeviceBackend#replay}. */
    static GraphStep capture(DeviceBackend be, CudaDevice dev, TrainStep step, Buffer stats, int batch, double bound, int capacity) {
        if (batch < 1) throw new IllegalArgumentException("GraphStep: batch " + batch);
        GraphStep g = new GraphStep(be, dev, step, stats, batch, bound, capacity);
        try {
            be.upload(g.control.slice(0, TABLE), new int[TABLE]);
            be.fill(g.statsAcc, 0f);
            be.sync();
            g.record();
            return g;
        } catch (RuntimeException | Error e) {
            g.close();
            throw e;
        }
    }

    /** What the graph records: the bookkeeping kernels around the step's ops, which read `current`. */
    void enqueueStep() {
        Buffer current = control.slice(CURRENT, SCALARS), table = control.slice(TABLE, (long) PLANNED * capacity);
        backend.launch(Kernel.STEP_REPLAY_V2_ADVANCE, 1, 1, 1, 32, current, table, control.slice(0, 1));
        backend.capture(current);
        try {
            // Placeholder scalars: captured ops read the real ones from `current`.
            step.forwardLoss(0);
            backend.launch(Kernel.STEP_REPLAY_V2_GUARD, 1, 1, 1, 32, current, stats, batch, StepReplay.boundFloor(bound));
            step.backwardUpdate(0, 0f, false);
        } finally {
            backend.capture(null);
        }
        backend.launch(Kernel.STEP_REPLAY_V2_ACCUMULATE, 1, 1, 1, 32, statsAcc, stats, 2, current);
    }

    /** Without recording (CudaLaunchAbiTest: a backend whose launches are recorded, no GPU). */
    static GraphStep uncaptured(DeviceBackend be, TrainStep step, Buffer stats, int batch, double bound, int capacity) {
        return new GraphStep(be, null, step, stats, batch, bound, capacity);
    }

    private void record() {
        destroyGraph();
        scratchGeneration = backend.scratchGeneration();
        check(JCudaDriver.cuStreamBeginCapture(dev.stream(), CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                "cuStreamBeginCapture");
        CUgraph captured = new CUgraph();
        Throwable failure = null;
        try {
            enqueueStep();
        } catch (RuntimeException | Error e) {
            failure = e;
        } finally {
            int rc = JCudaDriver.cuStreamEndCapture(dev.stream(), captured);
            if (failure == null && rc != 0) check(rc, "cuStreamEndCapture");
        }
        if (failure != null) {
            JCudaDriver.cuGraphDestroy(captured);
            if (failure instanceof RuntimeException r) throw r;
            throw (Error) failure;
        }
        graph = captured;
        CUgraphExec e = new CUgraphExec();
        check(JCudaDriver.cuGraphInstantiate(e, graph, 0L), "cuGraphInstantiate");
        exec = e;
    }

    @Override public void plan(int[] batchStarts, int firstStep, float lr, boolean firstIsFirstStep) {
        if (batchStarts.length > capacity)
            throw new IllegalArgumentException("GraphStep.plan: " + batchStarts.length + " steps exceed the capacity " + capacity);
        int[] t = new int[PLANNED * batchStarts.length];
        for (int i = 0; i < batchStarts.length; i++) {
            int o = PLANNED * i;
            t[o] = batchStarts[i];
            t[o + 1] = firstStep + i;
            t[o + 2] = i == 0 && firstIsFirstStep ? 1 : 0;
            t[o + 3] = Float.floatToRawIntBits(lr);
        }
        backend.sync(); // earlier replays read the table
        if (backend.scratchGeneration() != scratchGeneration) record();
        backend.upload(control.slice(0, 1), new int[1]); // counter; the current slot (halt fields) stays
        if (t.length > 0) backend.upload(control.slice(TABLE, t.length), t);
        planned = batchStarts.length;
        planFirstStep = firstStep;
        launched = 0;
    }

    @Override public void launch() {
        if (launched >= planned)
            throw new IllegalStateException("GraphStep.launch: all " + planned + " planned steps were launched; call plan() first");
        check(JCudaDriver.cuGraphLaunch(exec, dev.stream()), "cuGraphLaunch");
        launched++;
    }

    @Override public Outcome finish() {
        int[] c = new int[TABLE];
        float[] s = new float[2];
        backend.download(c, control.slice(0, TABLE));
        backend.download(s, statsAcc);
        backend.fill(statsAcc, 0f);
        return Outcome.fromDevice(s[0], s[1], planFirstStep, launched, c[HALTED] != 0, c[HALT_STEP],
                Float.intBitsToFloat(c[HALT_LOSS]));
    }

    private void destroyGraph() {
        if (exec != null) JCudaDriver.cuGraphExecDestroy(exec);
        if (graph != null) JCudaDriver.cuGraphDestroy(graph);
        exec = null;
        graph = null;
    }

    @Override public void close() {
        try {
            destroyGraph();
        } finally {
            backend.free(control);
            backend.free(statsAcc);
        }
    }
}
