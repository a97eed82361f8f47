package asymbp.model;

import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;

import java.util.Locale;

/**
 * A parsed feedback option (docs/spec.md §3): the mode ({@code bp usf brsf frsf fa psf:p dfa}) plus its
 * options, turned into one {@link Feedback} per weight layer per step.
 *
 * @param scale       s, the factor on sign(W) or on the magnitudes (default 1); unused when {@code xavier}
 * @param xavier      per-layer scale (BioTorch's xavier): usf s_l = √(2/(fan_in+fan_out)); brsf, frsf and
 *                    psf a_l = √(6/(fan_in+fan_out)) on the U(0,1) magnitudes; fa's and dfa's B ~ U(−a, a)
 * @param halfNormal  magnitudes |N(0,1)| instead of U(0,1)
 * @param faSigma     fa's (and dfa's) σ; 0 means "the standard deviation of that layer's own initialisation"
 * @param lastLayerBp the last weight layer uses true backprop (as Xiao et al.)
 */
public record FeedbackSpec(FeedbackMode mode, float p, float scale, boolean xavier, boolean halfNormal, float faSigma,
                           boolean lastLayerBp) {

    /** Parses {@code bp usf brsf frsf fa psf:p dfa}; throws IllegalArgumentException naming --feedback. */
    public static FeedbackMode parseMode(String spec) {
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
        if (s.startsWith("psf")) return FeedbackMode.PSF;
        for (FeedbackMode m : FeedbackMode.values())
            if (m != FeedbackMode.PSF && m.cliName().equals(s)) return m;
        throw new IllegalArgumentException("--feedback " + spec
                + ": unknown mode (expected bp, usf, brsf, frsf, fa, dfa or psf:p with p in [0,1])");
    }

    /** psf's p; 1 for the other modes. */
    public static float parseP(String spec) {
        String s = spec.trim().toLowerCase(Locale.ROOT);
        if (!s.startsWith("psf")) return 1f;
        if (!s.startsWith("psf:"))
            throw new IllegalArgumentException("--feedback " + spec + ": psf needs its share p, as psf:0.5");
        float p;
        try {
            p = Float.parseFloat(s.substring(4));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--feedback " + spec + ": p is not a number");
        }
        if (!(p >= 0f && p <= 1f))
            throw new IllegalArgumentException("--feedback " + spec + ": p must be in [0,1]");
        return p;
    }

    public static FeedbackSpec parse(String spec, float scale, boolean halfNormal, float faSigma, boolean lastLayerBp) {
        return new FeedbackSpec(parseMode(spec), parseP(spec), scale, false, halfNormal, faSigma, lastLayerBp);
    }

    public static FeedbackSpec parse(String spec, FbScale scale, boolean halfNormal, float faSigma, boolean lastLayerBp) {
        return new FeedbackSpec(parseMode(spec), parseP(spec), scale.xavier() ? 1f : (float) scale.value(), scale.xavier(),
                halfNormal, faSigma, lastLayerBp);
    }

    /** Whether the output error reaches the layers directly (dfa) instead of through the next layer. */
    public boolean direct() { return mode == FeedbackMode.DFA; }

    /** √(k/(fan_in+fan_out)), computed as Net.initBound does (k = 6: Xavier-uniform's bound, 2: its std). */
    static float xavier(double k, long fanIn, long fanOut) {
        return (float) Math.sqrt(k / (fanIn + fanOut));
    }

    /** The scale s (or the bound a) that layer {@code l}'s V uses: the number, or its Xavier value. */
    public float scaleFor(int fanIn, int fanOut) {
        if (!xavier) return scale;
        return xavier(mode == FeedbackMode.USF ? 2.0 : 6.0, fanIn, fanOut);
    }

    /**
     * The feedback of weight layer {@code layer} (0-based) at training step {@code step}, for its own
     * backward. Under dfa the layer's own V is not used (its input gradient comes from {@link #direct}),
     * so every layer gets bp there.
     *
     * @param initStd the standard deviation of that layer's weight initialisation (fa's default σ)
     */
    public Feedback forLayer(long seed, int layer, int step, boolean last, float initStd, int fanIn, int fanOut) {
        if (mode == FeedbackMode.BP || mode == FeedbackMode.DFA || (last && lastLayerBp)) return Feedback.bp();
        if (xavier)
            return mode == FeedbackMode.FA ? bMatrix(seed, layer, initStd, fanIn, fanOut)
                    : new Feedback(mode, scaleFor(fanIn, fanOut), p, 0f, halfNormal, seed, layer, step);
        float sigma = faSigma > 0f ? faSigma : initStd;
        return new Feedback(mode, scale, p, sigma, halfNormal, seed, layer, step);
    }

    /** {@link #forLayer(long, int, int, boolean, float, int, int)} for a numeric scale (no fans needed). */
    public Feedback forLayer(long seed, int layer, int step, boolean last, float initStd) {
        if (xavier) throw new IllegalStateException("--fb-scale xavier needs each layer's fans");
        return forLayer(seed, layer, step, last, initStd, 0, 0);
    }

    /**
     * dfa's B_l of weight layer {@code layer} (classes × {@code features}, its input size), or null
     * where the layer's input gradient is its own (the last layer with --last-layer-bp).
     */
    public Feedback direct(long seed, int layer, boolean last, float initStd, int classes, int features) {
        if (!direct()) throw new IllegalStateException("direct feedback only under dfa, not " + mode.cliName());
        if (last && lastLayerBp) return null;
        return bMatrix(seed, layer, initStd, classes, features);
    }

    /**
     * An fa-mode B of {@code rows × cols} for Philox layer word {@code layer}: N(0, σ²) with σ = --fa-sigma
     * or the layer's init std, or under xavier U(−a, a) with a = √(6/(rows+cols)).
     */
    private Feedback bMatrix(long seed, int layer, float initStd, int rows, int cols) {
        if (xavier) return new Feedback(FeedbackMode.FA, 1f, 1f, xavier(6.0, rows, cols), false, seed, layer, 0, true);
        return new Feedback(FeedbackMode.FA, 1f, 1f, faSigma > 0f ? faSigma : initStd, false, seed, layer, 0);
    }
}
