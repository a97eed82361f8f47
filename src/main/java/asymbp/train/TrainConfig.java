package asymbp.train;

import asymbp.data.Datasets;
import asymbp.io.Json;
import asymbp.backend.FeedbackMode;
import asymbp.model.FbScale;
import asymbp.model.FeedbackSpec;
import asymbp.model.Net;
import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every option of one training run, immutable, bound by Jackson ({@link Json}) to snake_case keys: the
 * one definition that train's flags, {@code train --config FILE}, grid files and checkpoints all read.
 * {@link Option} lists each option's file key and flag; {@link #defaults()} is the paper's headline
 * (LeNet + BN, brSF, MNIST) and every option's default; {@link #with(Option, Object)} (and the
 * {@code withX} shorthands) return changed copies; {@link #validate()} checks every value and throws
 * IllegalArgumentException with one line naming the flag and the value.
 *
 * @param dataset       a {@code asymbp.data.Datasets.load} spec: mnist, fashion-mnist, cifar10:DIR, ...
 * @param model         mlp:W1-W2-..., lenet, lenet-biotorch, cifar
 * @param feedback      bp, usf, brsf, frsf, fa, psf:p, dfa
 * @param update        sgd or bm
 * @param lrSteps       epochs (0-based count of finished epochs) at which the lr is multiplied by lrFactor
 * @param limit         use only the first N training images; 0 = all
 * @param init          directory of .npy files to start from; null = Philox initialisation
 * @param weightInit    uniform (1/√fan_in, PyTorch's default) or xavier
 * @param fbScale       s, the factor on sign(W) / the magnitudes, or xavier (per layer; docs/spec.md §3)
 * @param magnitude     uniform (U(0,1)) or halfnormal (|N(0,1)|); key fb_magnitude (checkpoints before
 *                      it was renamed hold "magnitude")
 * @param faSigma       fa's σ; 0 = each layer's initialisation std
 * @param lastLayerBp   the last weight layer uses true backprop
 * @param divergeBound  loss above this is divergence; 0 = 100·ln(classes)
 * @param evalBatch     batch size for evaluation; 0 = same as batch
 */
public record TrainConfig(String dataset, String model, String feedback, boolean bn, String update,
                          int epochs, int batch, double lr, double momentum, double weightDecay,
                          List<Integer> lrSteps, double lrFactor, long seed,
                          String backend, int device, int limit, String init, String weightInit,
                          FbScale fbScale, @JsonProperty("fb_magnitude") @JsonAlias("magnitude") String magnitude,
                          double faSigma, boolean lastLayerBp,
                          double divergeBound, int evalBatch, boolean quiet, boolean resume) {

    /**
     * Every option: its key in files (config, grid, checkpoint) and its train flag. The grid's own train
     * options ({@link #grid}) come in the order grid labels name them.
     */
    public enum Option {
        DATASET("dataset", "--dataset", false), MODEL("model", "--model", false),
        FEEDBACK("feedback", "--feedback", false), BN("bn", "--bn", false), UPDATE("update", "--update", false),
        LR("lr", "--lr", false), SEED("seed", "--seed", false),
        EPOCHS("epochs", "--epochs", true), BATCH("batch", "--batch", true), MOMENTUM("momentum", "--momentum", true),
        WEIGHT_DECAY("weight_decay", "--weight-decay", true), LR_STEPS("lr_steps", "--lr-steps", true),
        LR_FACTOR("lr_factor", "--lr-factor", true), LIMIT("limit", "--limit", true),
        WEIGHT_INIT("weight_init", "--weight-init", true), FB_SCALE("fb_scale", "--fb-scale", true),
        FB_MAGNITUDE("fb_magnitude", "--fb-magnitude", true), FA_SIGMA("fa_sigma", "--fa-sigma", true),
        LAST_LAYER_BP("last_layer_bp", "--last-layer-bp", true), DIVERGE_BOUND("diverge_bound", "--diverge-bound", true),
        EVAL_BATCH("eval_batch", "--eval-batch", true), INIT("init", "--init", true),
        BACKEND("backend", "--backend", true), DEVICE("device", "--device", true),
        QUIET("quiet", "--quiet", false), RESUME("resume", "--resume", false);

        /** The key in config, grid and checkpoint files. */
        public final String key;
        /** The train flag. */
        public final String flag;
        /** A grid file gives it under the same key (one value, or a list that sweeps it). */
        public final boolean grid;

        Option(String key, String flag, boolean grid) {
            this.key = key;
            this.flag = flag;
            this.grid = grid;
        }

        /** This option's value in {@code c}, as Jackson writes it. */
        public Object of(TrainConfig c) {
            return Json.MAPPER.convertValue(Json.MAPPER.valueToTree(c).get(key), Object.class);
        }

        public static Option byKey(String key) {
            for (Option o : values()) if (o.key.equals(key)) return o;
            return null;
        }

        public static Option byFlag(String flag) {
            for (Option o : values()) if (o.flag.equals(flag)) return o;
            return null;
        }

        /** The options a grid file sweeps or sets, in label order. */
        public static List<Option> gridOptions() {
            return Arrays.stream(values()).filter(o -> o.grid).toList();
        }
    }

    public TrainConfig {
        lrSteps = lrSteps == null ? List.of() : List.copyOf(lrSteps);
        update = lower(update);
        backend = lower(backend);
        weightInit = lower(weightInit);
        magnitude = lower(magnitude);
        if (fbScale == null) fbScale = FbScale.ONE;
    }

    private static String lower(String s) { return s == null ? null : s.toLowerCase(Locale.ROOT); }

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
                FbScale.ONE, "uniform", 0.0, false,
                0.0, 0, false, false);
    }

    /** A copy with {@code option} set to {@code value} (a value Jackson binds to the option's type). */
    public TrainConfig with(Option option, Object value) {
        return with(Map.of(option, value == null ? NULL : value));
    }

    private static final Object NULL = new Object();

    /** A copy with every option of {@code values} set, through the same binding as files. */
    public TrainConfig with(Map<Option, Object> values) {
        ObjectNode n = Json.MAPPER.valueToTree(this);
        for (Map.Entry<Option, Object> e : values.entrySet()) {
            Object v = e.getValue() instanceof java.nio.file.Path p ? p.toString() : e.getValue();
            n.set(e.getKey().key, v == NULL ? NullNode.getInstance() : Json.MAPPER.valueToTree(v));
        }
        try {
            return Json.MAPPER.treeToValue(n, TrainConfig.class);
        } catch (JsonProcessingException e) {
            // A value a type's own parser refused (FbScale) says why itself, naming its flag.
            if (e.getCause() instanceof IllegalArgumentException bad) throw bad;
            throw new IllegalArgumentException("cannot set " + values.keySet() + ": " + e.getOriginalMessage(), e);
        }
    }

    public TrainConfig withDataset(String v) { return with(Option.DATASET, v); }
    public TrainConfig withModel(String v) { return with(Option.MODEL, v); }
    public TrainConfig withFeedback(String v) { return with(Option.FEEDBACK, v); }
    public TrainConfig withBn(boolean v) { return with(Option.BN, v); }
    public TrainConfig withUpdate(String v) { return with(Option.UPDATE, v); }
    public TrainConfig withEpochs(int v) { return with(Option.EPOCHS, v); }
    public TrainConfig withBatch(int v) { return with(Option.BATCH, v); }
    public TrainConfig withLr(double v) { return with(Option.LR, v); }
    public TrainConfig withMomentum(double v) { return with(Option.MOMENTUM, v); }
    public TrainConfig withWeightDecay(double v) { return with(Option.WEIGHT_DECAY, v); }
    public TrainConfig withLrSteps(List<Integer> v) { return with(Option.LR_STEPS, v); }
    public TrainConfig withLrFactor(double v) { return with(Option.LR_FACTOR, v); }
    public TrainConfig withSeed(long v) { return with(Option.SEED, v); }
    public TrainConfig withBackend(String v) { return with(Option.BACKEND, v); }
    public TrainConfig withDevice(int v) { return with(Option.DEVICE, v); }
    public TrainConfig withLimit(int v) { return with(Option.LIMIT, v); }
    public TrainConfig withInit(String v) { return with(Option.INIT, v); }
    public TrainConfig withWeightInit(String v) { return with(Option.WEIGHT_INIT, v); }
    public TrainConfig withFbScale(double v) { return with(Option.FB_SCALE, v); }
    public TrainConfig withFbScale(FbScale v) { return with(Option.FB_SCALE, v); }
    public TrainConfig withMagnitude(String v) { return with(Option.FB_MAGNITUDE, v); }
    public TrainConfig withFaSigma(double v) { return with(Option.FA_SIGMA, v); }
    public TrainConfig withLastLayerBp(boolean v) { return with(Option.LAST_LAYER_BP, v); }
    public TrainConfig withDivergeBound(double v) { return with(Option.DIVERGE_BOUND, v); }
    public TrainConfig withEvalBatch(int v) { return with(Option.EVAL_BATCH, v); }
    public TrainConfig withQuiet(boolean v) { return with(Option.QUIET, v); }
    public TrainConfig withResume(boolean v) { return with(Option.RESUME, v); }

    /**
     * A value {@link #validate()} refuses: the option, the value and why, so that a file can name its key
     * instead of the flag. The message is one line, "--flag VALUE: why".
     */
    public static final class BadValue extends IllegalArgumentException {
        public final Option option;
        public final Object value;
        public final String why;

        BadValue(Option option, Object value, String why) {
            super(option.flag + " " + value + ": " + why);
            this.option = option;
            this.value = value;
            this.why = why;
        }
    }

    /**
     * Checks every value, and how they fit together, before any work: the one set of rules for train's
     * flags, config files, grid cells and checkpoints. Throws {@link BadValue}, one line naming the flag
     * and the value.
     */
    public TrainConfig validate() {
        checkDataset(dataset);
        named(Option.MODEL, model, () -> Net.checkName(model));
        named(Option.FEEDBACK, feedback, () -> { FeedbackSpec.parseP(feedback); FeedbackSpec.parseMode(feedback); });
        named(Option.UPDATE, update, this::updateRule);
        if (epochs < 1) fail(Option.EPOCHS, epochs, "must be at least 1");
        if (batch < 1) fail(Option.BATCH, batch, "must be at least 1");
        if (evalBatch < 0) fail(Option.EVAL_BATCH, evalBatch, "must be at least 1 (0 = --batch)");
        if (!(lr > 0) || Double.isInfinite(lr)) fail(Option.LR, lr, "must be a positive number");
        if (!(momentum >= 0 && momentum < 1)) fail(Option.MOMENTUM, momentum, "must be in [0,1)");
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) fail(Option.WEIGHT_DECAY, weightDecay, "must be ≥ 0");
        for (int s : lrSteps) if (s < 1) fail(Option.LR_STEPS, s, "epochs must be ≥ 1");
        for (int i = 1; i < lrSteps.size(); i++)
            if (lrSteps.get(i) <= lrSteps.get(i - 1)) fail(Option.LR_STEPS, lrSteps.stream().map(String::valueOf).collect(java.util.stream.Collectors.joining(",")), "must be increasing");
        // Steps count finished epochs: one at or past the last epoch would never apply.
        for (int s : lrSteps)
            if (s >= epochs) fail(Option.LR_STEPS, s, "the run has " + epochs + " epoch(s) (" + Option.EPOCHS.flag
                    + "), so this step would never apply");
        if (!(lrFactor > 0) || Double.isInfinite(lrFactor)) fail(Option.LR_FACTOR, lrFactor, "must be a positive number");
        if (!List.of("auto", "cpu", "opencl", "cuda").contains(backend))
            fail(Option.BACKEND, backend, "must be auto, cpu, opencl or cuda");
        if (device < 0) fail(Option.DEVICE, device, "must be ≥ 0");
        if (limit < 0) fail(Option.LIMIT, limit, "must be ≥ 0 (0 = all)");
        if (!"uniform".equals(weightInit) && !"xavier".equals(weightInit))
            fail(Option.WEIGHT_INIT, weightInit, "must be uniform or xavier");
        if (!fbScale.xavier() && (!(fbScale.value() > 0) || Double.isInfinite(fbScale.value())))
            fail(Option.FB_SCALE, fbScale, "must be a positive number or xavier");
        if (!"uniform".equals(magnitude) && !"halfnormal".equals(magnitude))
            fail(Option.FB_MAGNITUDE, magnitude, "must be uniform or halfnormal");
        if (!(faSigma >= 0) || Double.isInfinite(faSigma)) fail(Option.FA_SIGMA, faSigma, "must be > 0 (0 = the init std)");
        FeedbackMode mode = FeedbackSpec.parseMode(feedback);
        if (faSigma > 0 && fbScale.xavier() && (mode == FeedbackMode.FA || mode == FeedbackMode.DFA))
            fail(Option.FA_SIGMA, faSigma, "cannot be combined with --fb-scale xavier (B is then U(−a_l, a_l), a_l Xavier's bound)");
        if (!(divergeBound >= 0) || Double.isInfinite(divergeBound))
            fail(Option.DIVERGE_BOUND, divergeBound, "must be > 0 (0 = 100·ln(classes))");
        return this;
    }

    /** The name or kind must be one Datasets.load knows; the files themselves are read later. */
    private static void checkDataset(String d) {
        if (d == null || d.isBlank()) fail(Option.DATASET, "''", "is empty");
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
        fail(Option.DATASET, d, "is not a dataset (expected one of " + String.join(", ", Datasets.NAMES)
                + ", or KIND:PATH with KIND one of " + String.join(", ", Datasets.KINDS) + ")");
    }

    private static void fail(Option option, Object value, String why) {
        throw new BadValue(option, value, why);
    }

    /** Runs a check that names the flag itself ("--model X: why") and rethrows its refusal as a BadValue. */
    private static void named(Option option, Object value, Runnable check) {
        try {
            check.run();
        } catch (BadValue e) {
            throw e;
        } catch (IllegalArgumentException e) {
            String prefix = option.flag + " " + value + ": ", m = String.valueOf(e.getMessage());
            throw new BadValue(option, value, m.startsWith(prefix) ? m.substring(prefix.length()) : m);
        }
    }

    public asymbp.backend.UpdateRule updateRule() {
        if ("sgd".equals(update)) return asymbp.backend.UpdateRule.SGD;
        if ("bm".equals(update)) return asymbp.backend.UpdateRule.BM;
        throw new IllegalArgumentException("--update " + update + ": must be sgd or bm");
    }

    public FeedbackSpec feedbackSpec() {
        return FeedbackSpec.parse(feedback, fbScale, "halfnormal".equals(magnitude), (float) faSigma, lastLayerBp);
    }

    /** The learning rate during epoch {@code epoch} (0-based): lr · factor^(number of steps ≤ epoch). */
    public double lrAt(int epoch) {
        double r = lr;
        for (int s : lrSteps) if (epoch >= s) r *= lrFactor;
        return r;
    }

    /** The divergence bound for {@code classes} classes (docs/spec.md §5). */
    public double divergeBoundFor(int classes) {
        return divergeBound > 0 ? divergeBound : 100.0 * Math.log(classes);
    }
}
