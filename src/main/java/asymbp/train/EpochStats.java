package asymbp.train;

/**
 * One epoch of training (or its part up to divergence).
 *
 * @param epoch           1-based number of the epoch
 * @param loss            mean training loss over the steps run
 * @param trainError      training error % over the images seen (with the weights of the moment)
 * @param images          images trained on
 * @param seconds         training wall time (no evaluation)
 * @param imagesPerSecond images / seconds
 * @param diverged        the epoch stopped at a diverged step
 * @param imagesPerSecondSteady images / second after the warm-up steps (the first epoch a Trainer runs
 *                        skips its first steps: JIT compilation, scratch sizing); NaN when too few remained
 */
public record EpochStats(int epoch, double loss, double trainError, long images, double seconds,
                         double imagesPerSecond, boolean diverged, double imagesPerSecondSteady) {}
