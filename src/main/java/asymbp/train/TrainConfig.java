package asymbp.train;

import asymbp.data.Datasets;
import asymbp.model.FeedbackSpec;
import asymbp.model.Net;

import java.util.List;
import java.util.Locale;

/**
 * Every option of one training run, immutable. {@link #defaults()} is the paper's headline
 * (LeNet + BN, brSF, MNIST); {@code withX} return changed copies; {@link #validate()} checks every
 * value and throws IllegalArgumentException with one line naming the flag and the value.
 *
 * @param dataset       a {@code asymbp.data.Datasets.load} spec: mnist, fashion-mnist, cifar10:DIR, ...
 * @param model         mlp:W1-W2-..., lenet, cifar
 * @param feedback      bp, usf, brsf, frsf, fa, psf:p
 * @param update        sgd or bm
 * @param lrSteps       epochs (0-based count of finished epochs) at which the lr is multiplied by lrFactor
 * @param limit         use only the first N training images; 0 = all
 * @param init          directory of .npy files to start from; null = Philox initialisation
 * @param weightInit    uniform (1/√fan_in, PyTorch's default) or xavier
 * @param fbScale       s, the factor on sign(W) / the magnitudes
 * @param magnitude     uniform (U(0,1)) or halfnormal (|N(0,1)|)
 * @param faSigma       fa's σ; 0 = each layer's initialisation std
 * @param lastLayerBp   the last weight layer uses true backprop
 * @param divergeBound  loss above this is divergence; 0 = 100·ln(classes)
 * @param evalBatch     batch size for evaluation; 0 = same as batch
 */
public record TrainConfig(String dataset, String model, String feedback, boolean bn, String update,
                          int epochs, int batch, double lr, double momentum, double weightDecay,
                          List<Integer> lrSteps, double lrFactor, long seed,
                          String backend, int device, int limit, String init, String weightInit,
                          double fbScale, String magnitude, double faSigma, boolean lastLayerBp,
                          double divergeBound, int evalBatch, boolean quiet, boolean resume) {

    public TrainConfig {
        lrSteps = lrSteps == null ? List.of() : List.copyOf(lrSteps);
    }

    /**
     * LeNet+BN with brSF on MNIST, one epoch: the paper's headline in about a minute. Batch Manhattan
     * with η = 5e-5, μ = 0.9 learned best in one epoch (MNIST test error: BM 5e-5 1.89%, 1e-4 2.01%,
     * 2e-4 2.13%, 3e-4 2.91%; SGD 0.005 2.38%, 0.02 3.03%; seed 1, cpu backend).
     */
    public static TrainConfig defaults() {
        return new TrainConfig("mnist", "lenet", "brsf", true, "bm",
                1, 64, 5e-5, 0.9, 0.0,
                List.of(), 0.1, 1L,
                "auto", 0, 0, null, "uniform",
                1.0, "uniform", 0.0, false,
                0.0, 0, false, false);
    }

    public TrainConfig withDataset(String v) { return new TrainConfig(v, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withModel(String v) { return new TrainConfig(dataset, v, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withFeedback(String v) { return new TrainConfig(dataset, model, v, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withBn(boolean v) { return new TrainConfig(dataset, model, feedback, v, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withUpdate(String v) { return new TrainConfig(dataset, model, feedback, bn, v, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withEpochs(int v) { return new TrainConfig(dataset, model, feedback, bn, update, v, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withBatch(int v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, v, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withLr(double v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, v, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withMomentum(double v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, v, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withWeightDecay(double v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, v, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withLrSteps(List<Integer> v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, v, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withLrFactor(double v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, v, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withSeed(long v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, v, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withBackend(String v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, v, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withDevice(int v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, v, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withLimit(int v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, v, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withInit(String v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, v, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withWeightInit(String v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, v, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withFbScale(double v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, v, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withMagnitude(String v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, v, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withFaSigma(double v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, v, lastLayerBp, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withLastLayerBp(boolean v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, v, divergeBound, evalBatch, quiet, resume); }
    public TrainConfig withDivergeBound(double v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, v, evalBatch, quiet, resume); }
    public TrainConfig withEvalBatch(int v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, v, quiet, resume); }
    public TrainConfig withQuiet(boolean v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, v, resume); }
    public TrainConfig withResume(boolean v) { return new TrainConfig(dataset, model, feedback, bn, update, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor, seed, backend, device, limit, init, weightInit, fbScale, magnitude, faSigma, lastLayerBp, divergeBound, evalBatch, quiet, v); }

    /** Checks every value before any work; the message is one line naming the flag and the value. */
    public TrainConfig validate() {
        checkDataset(dataset);
        Net.checkName(model);
        FeedbackSpec.parseP(feedback);
        FeedbackSpec.parseMode(feedback);
        updateRule();
        if (epochs < 1) fail("--epochs", epochs, "must be at least 1");
        if (batch < 1) fail("--batch", batch, "must be at least 1");
        if (evalBatch < 0) fail("--eval-batch", evalBatch, "must be at least 1 (0 = --batch)");
        if (!(lr > 0) || Double.isInfinite(lr)) fail("--lr", lr, "must be a positive number");
        if (!(momentum >= 0 && momentum < 1)) fail("--momentum", momentum, "must be in [0,1)");
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) fail("--weight-decay", weightDecay, "must be ≥ 0");
        for (int s : lrSteps) if (s < 1) fail("--lr-steps", s, "epochs must be ≥ 1");
        for (int i = 1; i < lrSteps.size(); i++)
            if (lrSteps.get(i) <= lrSteps.get(i - 1)) fail("--lr-steps", lrSteps.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")), "must be increasing");
        if (!(lrFactor > 0) || Double.isInfinite(lrFactor)) fail("--lr-factor", lrFactor, "must be a positive number");
        if (!List.of("auto", "cpu", "opencl", "cuda").contains(backend))
            fail("--backend", backend, "must be auto, cpu, opencl or cuda");
        if (device < 0) fail("--device", device, "must be ≥ 0");
        if (limit < 0) fail("--limit", limit, "must be ≥ 0 (0 = all)");
        if (!"uniform".equals(weightInit) && !"xavier".equals(weightInit))
            fail("--weight-init", weightInit, "must be uniform or xavier");
        if (!(fbScale > 0) || Double.isInfinite(fbScale)) fail("--fb-scale", fbScale, "must be a positive number");
        if (!"uniform".equals(magnitude) && !"halfnormal".equals(magnitude))
            fail("--fb-magnitude", magnitude, "must be uniform or halfnormal");
        if (!(faSigma >= 0) || Double.isInfinite(faSigma)) fail("--fa-sigma", faSigma, "must be > 0 (0 = the init std)");
        if (!(divergeBound >= 0) || Double.isInfinite(divergeBound))
            fail("--diverge-bound", divergeBound, "must be > 0 (0 = 100·ln(classes))");
        return this;
    }

    /** The name or kind must be one Datasets.load knows; the files themselves are read later. */
    private static void checkDataset(String d) {
        if (d == null || d.isBlank()) fail("--dataset", "''", "is empty");
        String body = d.strip();
        int q = body.lastIndexOf('?');
        if (q >= 0) body = body.substring(0, q);
        int colon = body.indexOf(':');
        String low = body.toLowerCase(Locale.ROOT);
        if (colon > 1) {
            if (Datasets.KINDS.contains(low.substring(0, colon)) && colon + 1 < body.length()) return;
        } else if (Datasets.NAMES.contains(low)) {
            return;
        }
        fail("--dataset", d, "is not a dataset (expected one of " + String.join(", ", Datasets.NAMES)
                + ", or KIND:PATH with KIND one of " + String.join(", ", Datasets.KINDS) + ")");
    }

    private static void fail(String flag, Object value, String why) {
        throw new IllegalArgumentException(flag + " " + value + ": " + why);
    }

    public asymbp.backend.UpdateRule updateRule() {
        if ("sgd".equals(update)) return asymbp.backend.UpdateRule.SGD;
        if ("bm".equals(update)) return asymbp.backend.UpdateRule.BM;
        throw new IllegalArgumentException("--update " + update + ": must be sgd or bm");
    }

    public FeedbackSpec feedbackSpec() {
        return FeedbackSpec.parse(feedback, (float) fbScale, "halfnormal".equals(magnitude), (float) faSigma, lastLayerBp);
    }

    /** The learning rate during epoch {@code epoch} (0-based): lr · factor^(number of steps ≤ epoch). */
    public double lrAt(int epoch) {
        double r = lr;
        for (int s : lrSteps) if (epoch >= s) r *= lrFactor;
        return r;
    }

    /** The divergence bound for {@code classes} classes (SPEC §5). */
    public double divergeBoundFor(int classes) {
        return divergeBound > 0 ? divergeBound : 100.0 * Math.log(classes);
    }
}
