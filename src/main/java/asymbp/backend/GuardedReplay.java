package asymbp.backend;

/**
 * The {@link DeviceBackend}'s own {@link StepReplay} (OpenCL always; CUDA without graphs): every step is
 * enqueued back to back with the divergence test on the device (kernels/step_replay.cl: step_guard after
 * the loss, the update skipped once halted, the loss statistics summed on the device), so the host waits
 * once per plan instead of once per step. The step scalars go by value, as the launches set them.
 */
final class GuardedReplay extends PlannedReplay {

    private final DeviceBackend be;
    private final TrainStep step;
    private final Buffer stats;
    private final int batch;
    private final float boundFloor;
    /** I32 {halted, halt_step}; F32 {halt_loss}; F32 {Σ loss, Σ wrong}. */
    private final Buffer state, haltLoss, acc;

    GuardedReplay(DeviceBackend be, TrainStep step, Buffer stats, int batch, double bound) {
        if (batch < 1) throw new IllegalArgumentException("StepReplay: batch " + batch);
        this.be = be;
        this.step = step;
        this.stats = stats;
        this.batch = batch;
        this.boundFloor = StepReplay.boundFloor(bound);
        this.state = be.alloc(DType.I32, 2);
        this.haltLoss = be.alloc(DType.F32, 1);
        this.acc = be.alloc(DType.F32, 2);
        be.upload(state, new int[2]);
        be.fill(haltLoss, 0f);
        be.fill(acc, 0f);
    }

    @Override protected void launch(int start, int t, float lr, boolean firstStep) {
        be.guardUpdates(state);
        try {
            step.forwardLoss(start);
            be.launch(Kernel.STEP_GUARD, 1, 1, 1, DeviceBackend.WG, state, haltLoss, stats, batch, boundFloor, t);
            step.backwardUpdate(t, lr, firstStep);
            be.launch(Kernel.STATS_ACCUMULATE, 1, 1, 1, DeviceBackend.WG, acc, stats, state);
        } finally {
            be.guardUpdates(null);
        }
    }

    @Override public Outcome finish() {
        int[] st = new int[2];
        float[] hl = new float[1], sums = new float[2];
        be.download(st, state);
        be.download(hl, haltLoss);
        be.download(sums, acc);
        be.fill(acc, 0f);
        return Outcome.fromDevice(sums[0], sums[1], planFirstStep(), launched(), st[0] != 0, st[1], hl[0]);
    }

    @Override public void close() {
        be.free(state);
        be.free(haltLoss);
        be.free(acc);
    }
}
