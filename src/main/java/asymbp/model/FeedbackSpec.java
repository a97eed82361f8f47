package asymbp.model;

import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;

import java.util.Locale;

/**
 * A parsed feedback option (docs/spec.md §3): the mode ({@code bp usf brsf frsf fa psf:p}) plus its options,
 * turned into one {@link Feedback} per weight layer per step.
 *
 * @param scale       s, the factor on sign(W) or on the magnitudes (default 1)
 * @param halfNormal  magnitudes |N(0,1)| instead of U(0,1)
 * @param faSigma     fa's σ; 0 means "the standard deviation of that layer's own initialisation"
 * @param lastLayerBp the last weight layer uses true backprop (as Xiao et al.)
 */
public record FeedbackSpec(FeedbackMode mode, float p, float scale, boolean halfNormal, float faSigma,
                           boolean lastLayerBp) {

    /** Parses {@code bp usf brsf frsf fa psf:p}; throws IllegalArgumentException naming --feedback. */
    public static FeedbackMode parseMode(String spec) {
        String s = spec == null ? "" : spec.trim().toLowerCase(Locale.ROOT);
        if (s.startsWith("psf")) return FeedbackMode.PSF;
        for (FeedbackMode m : FeedbackMode.values())
            if (m != FeedbackMode.PSF && m.cliName().equals(s)) return m;
        throw new IllegalArgumentException("--feedback " + spec
                + ": unknown mode (expected bp, usf, brsf, frsf, fa or psf:p with p in [0,1])");
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
        return new FeedbackSpec(parseMode(spec), parseP(spec), scale, halfNormal, faSigma, lastLayerBp);
    }

    /**
     * The feedback of weight layer {@code layer} (0-based) at training step {@code step}.
     *
     * @param initStd the standard deviation of that layer's weight initialisation (fa's default σ)
     */
    public Feedback forLayer(long seed, int layer, int step, boolean last, float initStd) {
        if (mode == FeedbackMode.BP || (last && lastLayerBp)) return Feedback.bp();
        float sigma = faSigma > 0f ? faSigma : initStd;
        return new Feedback(mode, scale, p, sigma, halfNormal, seed, layer, step);
    }
}
