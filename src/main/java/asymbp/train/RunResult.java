package asymbp.train;

import java.util.List;

/**
 * The outcome of {@link Trainer#run}; written as {@code result.json}.
 *
 * @param testError       final test error % (null when diverged: a diverged run is not a number)
 * @param imagesPerSecond training throughput over the whole run
 * @param diverged        the run stopped on a diverged loss (SPEC §5)
 * @param divergedStep    0-based global step whose loss diverged, -1 if none
 * @param divergedLoss    that loss (as a string: it may be NaN or Infinity), null if none
 * @param epochs          epochs finished
 * @param wallSeconds     wall time of this invocation
 */
public record RunResult(Double testError, double imagesPerSecond, boolean diverged, long divergedStep,
                        String divergedLoss, int epochs, long steps, String backend, String device,
                        double wallSeconds, long parameters, TrainConfig config, List<EpochRecord> history) {}
