package asymbp.cuda;

import asymbp.backend.Buffer;
import asymbp.backend.DType;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

import static asymbp.cuda.CudaDriver.check;

/**
 * One steady-state training step recorded as a CUDA graph and replayed with a single cuGraphLaunch.
 *
 * <p>Kernel arguments are frozen at capture, so everything that changes from step to step lives in
 * device memory: a table of {@code StepScalars {start, step, firstStep, lr}} written by {@link #plan}
 * (e.g. once per epoch), a counter, and the "current" slot the captured ops read. The graph's first
 * node copies table[counter] into the current slot and advances the counter; so a replay needs no host
 * work beyond the launch, and the host can queue many steps ahead.
 *
 * <p>Usage (by the Trainer when the backend is CUDA):
 * <pre>
 *   trainer.step();                                 // step 0 eagerly (first step, grows scratch memory)
 *   GraphStep g = cuda.captureStep(() -&gt; enqueue(...), stats);   // ops only: no sync/download/upload
 *   g.plan(starts, firstStepIndex, lr, false);      // the epoch's batch starts, its first Philox step
 *   for (int i = 0; i &lt; starts.length; i++) g.launch();
 *   float[] s = g.takeStats();                      // summed loss and error count of those steps
 * </pre>
 * Capture does not run the step: it only records it.
 */
public final class GraphStep implements AutoCloseable {

    /** Ints per StepScalars slot (start, step, firstStep, lr as float bits). */
    private static final int SLOT = 4;
    /** Layout of the control buffer: [counter, pad×3][current slot][table...]. */
    private static final int CURRENT = 4, TABLE = 8;

    private final CudaBackend backend;
    private final Buffer control;
    private final Buffer statsAcc;
    private final int capacity;
    private CUgraph graph;
    private CUgraphExec exec;
    private int planned, launched;

    private GraphStep(CudaBackend backend, Buffer control, Buffer statsAcc, int capacity) {
        this.backend = backend;
        this.control = control;
        this.statsAcc = statsAcc;
        this.capacity = capacity;
    }

    /** Default table capacity: the most steps one {@link #plan} can hold (16 bytes each). */
    public static final int DEFAULT_CAPACITY = 1 << 16;

    static GraphStep capture(CudaBackend be, Runnable enqueueStep, Buffer stats) {
        return capture(be, enqueueStep, stats, DEFAULT_CAPACITY);
    }

    static GraphStep capture(CudaBackend be, Runnable enqueueStep, Buffer stats, int capacity) {
        Buffer control = be.alloc(DType.I32, TABLE + (long) SLOT * capacity);
        Buffer acc = stats == null ? null : be.alloc(DType.F32, 2);
        GraphStep g = new GraphStep(be, control, acc, capacity);
        try {
            be.upload(control.slice(0, TABLE), new int[TABLE]);
            if (acc != null) be.fill(acc, 0f);
            be.sync();
            g.record(enqueueStep, stats);
            return g;
        } catch (RuntimeException | Error e) {
            g.close();
            throw e;
        }
    }

    private void record(Runnable enqueueStep, Buffer stats) {
        CudaBuffer c = (CudaBuffer) control;
        CUdeviceptr counter = c.ptr();
        CUdeviceptr current = ((CudaBuffer) control.slice(CURRENT, SLOT)).ptr();
        CUdeviceptr table = ((CudaBuffer) control.slice(TABLE, (long) SLOT * capacity)).ptr();
        backend.function("step_scalars_advance"); // resolve outside the capture
        backend.function("stats_accumulate");
        check(JCudaDriver.cuStreamBeginCapture(backend.stream(), CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                "cuStreamBeginCapture");
        CUgraph captured = new CUgraph();
        Throwable failure = null;
        try {
            backend.launch("step_scalars_advance", 1, 1, 1, 32, current, table, counter);
            backend.beginCapture(current);
            try {
                enqueueStep.run();
            } finally {
                backend.endCapture();
            }
            if (stats != null)
                backend.launch("stats_accumulate", 1, 1, 1, 32, ((CudaBuffer) statsAcc).ptr(), ((CudaBuffer) stats).ptr(), 2);
        } catch (RuntimeException | Error e) {
            failure = e;
        } finally {
            int rc = JCudaDriver.cuStreamEndCapture(backend.stream(), captured);
            if (failure == null && rc != 0) check(rc, "cuStreamEndCapture");
        }
        if (failure != null) {
            JCudaDriver.cuGraphDestroy(captured);
            if (failure instanceof RuntimeException r) throw r;
            throw (Error) failure;
        }
        graph = captured;
        exec = new CUgraphExec();
        check(JCudaDriver.cuGraphInstantiate(exec, graph, 0L), "cuGraphInstantiate");
    }

    /**
     * Prepares the next {@code batchStarts.length} replays: replay i gathers the batch starting at
     * {@code batchStarts[i]}, uses Philox step {@code firstStep + i} (brsf's M_t) and learning rate
     * {@code lr}; only replay 0 may be flagged as the run's first step (momentum buffer ← d).
     * Waits for earlier replays (the table is overwritten).
     */
    public void plan(int[] batchStarts, int firstStep, float lr, boolean firstIsFirstStep) {
        if (batchStarts.length > capacity)
            throw new IllegalArgumentException("GraphStep.plan: " + batchStarts.length + " steps exceed the capacity " + capacity);
        int[] t = new int[TABLE + SLOT * batchStarts.length];
        for (int i = 0; i < batchStarts.length; i++) {
            int o = TABLE + SLOT * i;
            t[o] = batchStarts[i];
            t[o + 1] = firstStep + i;
            t[o + 2] = i == 0 && firstIsFirstStep ? 1 : 0;
            t[o + 3] = Float.floatToRawIntBits(lr);
        }
        backend.sync();
        backend.upload(control.slice(0, t.length), t);
        planned = batchStarts.length;
        launched = 0;
    }

    /** Replays the step once with the next planned scalars (asynchronous). */
    public void launch() {
        if (launched >= planned)
            throw new IllegalStateException("GraphStep.launch: all " + planned + " planned steps were launched; call plan() first");
        check(JCudaDriver.cuGraphLaunch(exec, backend.stream()), "cuGraphLaunch");
        launched++;
    }

    /** Replays left in the current plan. */
    public int remaining() { return planned - launched; }

    /** Summed {loss, wrong} over the replays since the last call (waits for them), then resets. */
    public float[] takeStats() {
        if (statsAcc == null) throw new IllegalStateException("GraphStep.takeStats: captured without a stats buffer");
        float[] s = new float[2];
        backend.download(s, statsAcc);
        backend.fill(statsAcc, 0f);
        return s;
    }

    @Override public void close() {
        try {
            if (exec != null) JCudaDriver.cuGraphExecDestroy(exec);
            if (graph != null) JCudaDriver.cuGraphDestroy(graph);
        } finally {
            exec = null;
            graph = null;
            backend.free(control);
            if (statsAcc != null) backend.free(statsAcc);
        }
    }
}
