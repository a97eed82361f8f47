package asymbp.train;

import java.util.List;

/** One finished epoch in the history of result.json, metrics.csv and the checkpoint. */
public record EpochRecord(int epoch, double loss, double trainError, double testError, double lr,
                          double imagesPerSecond, double seconds, List<LayerAlignment> alignment,
                          long images, double imagesPerSecondSteady) {}
