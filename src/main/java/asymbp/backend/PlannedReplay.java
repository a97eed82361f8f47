package asymbp.backend;

/**
 * The plan bookkeeping of a {@link StepReplay} that enqueues each step from the host (eager and
 * OpenCL): the planned batch starts and scalars, and which step comes next.
 */
public abstract class PlannedReplay implements StepReplay {

    private int[] starts = new int[0];
    private int firstStep, launched;
    private float lr;
    private boolean firstIsFirst;

    @Override public void plan(int[] batchStarts, int firstStep, float lr, boolean firstIsFirstStep) {
        this.starts = batchStarts.clone();
        this.firstStep = firstStep;
        this.lr = lr;
        this.firstIsFirst = firstIsFirstStep;
        this.launched = 0;
    }

    @Override public final void launch() {
        if (launched >= starts.length)
            throw new IllegalStateException("StepReplay.launch: all " + starts.length + " planned steps were launched; call plan() first");
        int i = launched++;
        launch(starts[i], firstStep + i, lr, i == 0 && firstIsFirst);
    }

    /** Runs or enqueues one planned step: its batch start, Philox step, learning rate and first-step flag. */
    protected abstract void launch(int start, int step, float lr, boolean firstStep);

    /** The Philox step of the plan's first step. */
    protected int planFirstStep() { return firstStep; }

    /** Steps launched in the current plan. */
    protected int launched() { return launched; }
}
