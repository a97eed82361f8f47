package asymbp.backend;

/**
 * One training step of a fixed batch size, cut where the loss is known, as the Trainer enqueues it:
 * what a backend may record once and replay ({@link StepReplay}). Both halves only enqueue ops on the
 * backend (no uploads, downloads, syncs or allocations), so a CUDA graph can capture them.
 */
public interface TrainStep {

    /** Gathers the batch at {@code start} of the epoch's order, runs the forward pass and the loss into the stats buffer. */
    void forwardLoss(int start);

    /** The asymmetric backward with Philox step {@code step} (brsf's M_t) and one update with {@code lr}. */
    void backwardUpdate(int step, float lr, boolean firstStep);
}
