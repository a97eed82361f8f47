package asymbp.train;

import java.util.List;
import java.util.Map;

/**
 * The state of a run; written as {@code result.json} after every epoch and at the end.
 *
 * @param status          running, finished or diverged
 * @param testError       final test error % (null while running and when diverged)
 * @param imagesPerSecond training throughput over every epoch of the run (history), warm-up included
 * @param imagesPerSecondSteady the median over epochs of the throughput after warm-up
 * @param diverged        the run stopped on a diverged loss (docs/spec.md §5)
 * @param divergedStep    0-based global step whose loss diverged, -1 if none
 * @param divergedLoss    that loss when it is a finite number, else null (see divergedCause)
 * @param divergedCause   "loss above the bound", "loss is NaN" or "loss is infinite"; null if none
 * @param epochs          epochs finished
 * @param resumedFromEpoch epochs the checkpoint held when this invocation resumed it (0: a fresh run)
 * @param wallSeconds     wall time of this invocation so far
 * @param wallSecondsTotal wall time of the run over every invocation: this one so far plus what the resumed
 *                        checkpoint records (the summed training time of its epochs where an older checkpoint
 *                        records none)
 * @param config          the configuration as given (0 = default where documented)
 * @param resolved        the values actually used where the configuration says "default"
 * @param run             version, commit, command line, machine
 */
public record RunResult(String status, Double testError, double imagesPerSecond, Double imagesPerSecondSteady,
                        boolean diverged, long divergedStep, Double divergedLoss, String divergedCause,
                        int epochs, long steps, int resumedFromEpoch, String backend, String device,
                        double wallSeconds, double wallSecondsTotal, long parameters, String startedAt, String updatedAt, String finishedAt,
                        TrainConfig config, Resolved resolved, RunInfo run, List<EpochRecord> history) {

    public static final String RUNNING = "running", FINISHED = "finished", DIVERGED = "diverged";

    /**
     * @param divergeBound   the loss bound in force
     * @param faSigma        fa's and dfa's σ of B per weight layer, the bound a when B is uniform (null unless
     *                       the feedback is fa or dfa)
     * @param faB            "normal" (B ~ N(0, σ²)) or "uniform" (B ~ U(−σ, σ), --fb-scale xavier); null unless fa or dfa
     * @param fbScale        the scale each weight layer's V uses (usf: s_l on sign(W); brsf, frsf, psf: on the
     *                       magnitudes), the --fb-scale number or each layer's Xavier value; null for bp, fa, dfa
     * @param inputMean      per-channel mean of the training pixels in [0,1], subtracted from the input
     * @param inputStd       per-channel standard deviation it is divided by
     * @param kernelVersions the kernel versions each op launched on a device backend (op → "v2,v3"; see
     *                       kernels/cuda/README.md), empty on the CPU backend
     */
    public record Resolved(double divergeBound, Map<String, Double> faSigma, String faB, Map<String, Double> fbScale,
                           double[] inputMean, double[] inputStd,
                           int evalBatch, int trainImages, int testImages, int stepsPerEpoch,
                           Map<String, String> kernelVersions) {}
}
