package asymbp.backend;

/**
 * The portable {@link StepReplay}: each step is enqueued op by op and its two loss statistics are
 * read back before the update (one sync per step), exactly as {@code Trainer.step()} runs.
 */
public final class EagerReplay extends PlannedReplay {

    private final Backend be;
    private final TrainStep step;
    private final Buffer stats;
    private final int batch;
    private final double bound;
    private final float[] host = new float[2];
    private boolean halted;
    private int haltStep, updated;
    private float haltLoss;
    private double lossSum, wrongSum;

    public EagerReplay(Backend be, TrainStep step, Buffer stats, int batch, double bound) {
        this.be = be;
        this.step = step;
        this.stats = stats;
        this.batch = batch;
        this.bound = bound;
    }

    @Override protected void launch(int start, int t, float lr, boolean firstStep) {
        if (halted) return;
        step.forwardLoss(start);
        be.download(host, stats);
        float loss = host[0] / batch;
        if (StepReplay.diverged(loss, bound)) {
            halted = true;
            haltStep = t;
            haltLoss = loss;
            return;
        }
        step.backwardUpdate(t, lr, firstStep);
        lossSum += host[0];
        wrongSum += host[1];
        updated++;
    }

    @Override public Outcome finish() {
        be.sync();
        Outcome o = new Outcome(lossSum, wrongSum, updated, halted, haltStep, haltLoss);
        lossSum = 0;
        wrongSum = 0;
        updated = 0;
        return o;
    }

    @Override public void close() {}
}
