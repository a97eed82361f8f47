package asymbp.backend;

/**
 * Runs many training steps of one {@link TrainStep} with the Trainer's divergence rule: a step whose
 * mean loss (stats[0] / batch) is NaN, ±Inf or above the bound halts the run before its update, and
 * every later step of the replay does nothing visible. How the steps run is the backend's business:
 * {@link EagerReplay} enqueues each and reads its loss back (cpu); OpenCL enqueues the steps back to
 * back and CUDA records the step once as a graph and replays it, both with the divergence test in
 * device memory, so the host reads nothing until {@link #finish}.
 */
public interface StepReplay extends AutoCloseable {

    /**
     * The next {@code batchStarts.length} steps: step i gathers the batch at {@code batchStarts[i]},
     * uses Philox step {@code firstStep + i} and learning rate {@code lr}; only step 0 may be the run's
     * first step (momentum buffer ← d). Waits for the steps of the previous plan.
     */
    void plan(int[] batchStarts, int firstStep, float lr, boolean firstIsFirstStep);

    /** Runs (or enqueues) the next planned step. */
    void launch();

    /** Waits for the launched steps and reports them; the sums restart from zero. */
    Outcome finish();

    @Override void close();

    /** The divergence rule, on the host: a mean loss that is NaN, ±Inf or above the bound. */
    static boolean diverged(float meanLoss, double bound) {
        return !Float.isFinite(meanLoss) || meanLoss > bound;
    }

    /**
     * The largest float not above {@code bound}: for a float loss, {@code loss > bound} (the host's
     * float-vs-double test) is exactly {@code loss > boundFloor(bound)}, so device guards compare floats.
     */
    static float boundFloor(double bound) {
        float f = (float) bound;
        return f > bound ? Math.nextDown(f) : f;
    }

    /**
     * What the steps launched since the last {@link #finish} did.
     *
     * @param lossSum  Σ stats[0] over the steps that updated
     * @param wrongSum Σ stats[1] over the steps that updated
     * @param updated  how many steps updated (all launched ones unless the run halted)
     * @param halted   the run has diverged (in this plan or before)
     * @param haltStep the Philox step of the diverged step, when halted
     * @param haltLoss its mean loss, when halted
     */
    record Outcome(double lossSum, double wrongSum, int updated, boolean halted, int haltStep, float haltLoss) {

        /**
         * The outcome of a plan that started at Philox step {@code firstStep} and launched {@code launched}
         * steps, from device-side sums and halt fields: a halted run updated only the steps before haltStep.
         */
        public static Outcome fromDevice(float lossSum, float wrongSum, int firstStep, int launched,
                                         boolean halted, int haltStep, float haltLoss) {
            int updated = halted ? Math.max(0, Math.min(launched, haltStep - firstStep)) : launched;
            return new Outcome(lossSum, wrongSum, updated, halted, haltStep, haltLoss);
        }
    }
}
