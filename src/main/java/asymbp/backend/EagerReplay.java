package asymbp.backend;

/**
 * The portable {@link StepReplay}: each step is enqueued op by op and its two loss statistics are
 * read back before the update (one sync per step), exactly as {@code Trainer.step()} runs.
 */
public final class EagerReplay implements StepReplay {

    private final Backend be;
    private final TrainStep step;
    private final Buffer stats;
    private final int batch;
    private final double bound;
    private final float[] host = new float[2];
    private int[] starts = new int[0];
    private int firstStep, launched;
    private float lr;
    private boolean firstIsFirst, halted;
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

    @Override public void plan(int[] batchStarts, int firstStep, float lr, boolean firstIsFirstStep) {
        this.starts = batchStarts.clone();
        this.firstStep = firstStep;
        this.lr = lr;
        this.firstIsFirst = firstIsFirstStep;
        this.launched = 0;
    }

    @Override public void launch() {
        if (launched >= starts.length)
            throw new IllegalStateException("StepReplay.launch: all " + starts.length + " planned steps were launched; call plan() first");
        int i = launched++;
        if (halted) return;
        step.forwardLoss(starts[i]);
        be.download(host, stats);
        float loss = host[0] / batch;
        if (!Float.isFinite(loss) || loss > bound) {
            halted = true;
            haltStep = firstStep + i;
            haltLoss = loss;
            return;
        }
        step.backwardUpdate(firstStep + i, lr, i == 0 && firstIsFirst);
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
