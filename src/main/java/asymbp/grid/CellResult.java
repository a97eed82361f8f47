package asymbp.grid;

import java.util.List;

/**
 * What one cell produced. Written as {@code cells/<id>.json} in the run directory.
 *
 * @param status        {@link #OK}, {@link #DIVERGED} or {@link #FAILED}; {@link #UNFINISHED} only in a report,
 *                      for a cell of the grid still running or not started (never written to cells/)
 * @param message       why it diverged or failed; null when ok
 * @param testError     final test error in percent; null unless ok
 * @param epochs        one record per finished epoch
 * @param lossTrace     training loss averaged over short windows, for learning curves; at most
 *                      {@link #TRACE_LIMIT} points (longer traces are merged into wider windows)
 * @param alignment     per weight layer and epoch (epoch 0 = at initialisation) the two angles
 * @param wallSeconds   wall time of the cell over every invocation that trained it (a cell resumed by a
 *                      version before 2026-12-06 records only its last invocation's)
 * @param device        backend and device that ran it
 */
public record CellResult(CellSpec cell, String status, String message, Double testError,
                         List<EpochRecord> epochs, List<TracePoint> lossTrace, List<Alignment> alignment,
                         double wallSeconds, String device, String finishedAt) {

    public static final String OK = "ok", DIVERGED = "diverged", FAILED = "failed", UNFINISHED = "unfinished";

    /**
     * Loss-trace points kept per cell: 25 per epoch (TrainerCellRunner's windows) would make a 100-epoch
     * cell file ~265 KB, mostly trace, and a study of 48 such cells too heavy to commit and carry.
     */
    public static final int TRACE_LIMIT = 500;

    public CellResult {
        epochs = epochs == null ? List.of() : List.copyOf(epochs);
        lossTrace = lossTrace == null ? List.of() : thin(lossTrace, TRACE_LIMIT);
        alignment = alignment == null ? List.of() : List.copyOf(alignment);
    }

    public boolean ok() { return OK.equals(status); }
    public boolean diverged() { return DIVERGED.equals(status); }
    public boolean failed() { return FAILED.equals(status); }
    public boolean unfinished() { return UNFINISHED.equals(status); }
    /** Finished cells are skipped on a rerun; failed ones are tried again. */
    public boolean finished() { return ok() || diverged(); }

    /** One epoch: mean training loss and error over the epoch, test error after it (percent). */
    public record EpochRecord(int epoch, double trainLoss, double trainError, double testError, double lr,
                              double seconds) {}

    /** Mean training loss over a window of steps ending at fractional epoch {@code epoch}. */
    public record TracePoint(double epoch, double loss) {}

    /**
     * The trace itself when it has at most {@code limit} points; otherwise runs of g = ⌈n / limit⌉
     * consecutive points merged into one, at the run's last epoch, its loss the mean of theirs weighted
     * by the span of epochs each window covers (steps, hence images, are proportional to it).
     */
    static List<TracePoint> thin(List<TracePoint> trace, int limit) {
        int n = trace.size(), g = (n + limit - 1) / limit;
        if (g <= 1) return List.copyOf(trace);
        java.util.ArrayList<TracePoint> out = new java.util.ArrayList<>(limit);
        double before = 0;   // where the first window starts: epoch 0
        for (int i = 0; i < n; i += g) {
            double start = before, weighted = 0;
            int end = Math.min(n, i + g);
            for (int j = i; j < end; j++) {
                TracePoint p = trace.get(j);
                weighted += p.loss() * (p.epoch() - before);
                before = p.epoch();
            }
            double span = before - start;
            TracePoint last = trace.get(end - 1);
            // a run of zero span (a trace that does not advance) keeps its last value rather than 0/0
            out.add(new TracePoint(last.epoch(), span > 0 ? weighted / span : last.loss()));
        }
        return List.copyOf(out);
    }

    /**
     * For weight layer {@code layer} after {@code epoch} epochs: the angle between V and W (degrees) and
     * the angle between the error sent back through V and the error true backprop sends back.
     */
    public record Alignment(int epoch, int layer, String name, double angleVW, double angleDelta) {}

    public static CellResult failed(CellSpec cell, String message, double wallSeconds, String finishedAt) {
        return new CellResult(cell, FAILED, message, null, List.of(), List.of(), List.of(), wallSeconds, null,
                finishedAt);
    }
}
