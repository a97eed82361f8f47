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
 * @param lossTrace     training loss averaged over short windows, for learning curves
 * @param alignment     per weight layer and epoch (epoch 0 = at initialisation) the two angles
 * @param wallSeconds   wall time of the cell
 * @param device        backend and device that ran it
 */
public record CellResult(CellSpec cell, String status, String message, Double testError,
                         List<EpochRecord> epochs, List<TracePoint> lossTrace, List<Alignment> alignment,
                         double wallSeconds, String device, String finishedAt) {

    public static final String OK = "ok", DIVERGED = "diverged", FAILED = "failed", UNFINISHED = "unfinished";

    public CellResult {
        epochs = epochs == null ? List.of() : List.copyOf(epochs);
        lossTrace = lossTrace == null ? List.of() : List.copyOf(lossTrace);
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
     * For weight layer {@code layer} after {@code epoch} epochs: the angle between V and W (degrees) and
     * the angle between the error sent back through V and the error true backprop sends back.
     */
    public record Alignment(int epoch, int layer, String name, double angleVW, double angleDelta) {}

    public static CellResult failed(CellSpec cell, String message, double wallSeconds, String finishedAt) {
        return new CellResult(cell, FAILED, message, null, List.of(), List.of(), List.of(), wallSeconds, null,
                finishedAt);
    }
}
