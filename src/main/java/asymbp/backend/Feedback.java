package asymbp.backend;

import asymbp.rng.Philox;

/**
 * Everything a backward kernel needs to regenerate V from W for one weight layer at one step
 * (docs/spec.md §3). V is never stored: {@link #v} is the element-wise definition every backend follows.
 *
 * @param mode       the feedback mode
 * @param scale      s: the factor on sign(W) (usf) and on the magnitudes M (brsf, frsf, psf)
 * @param p          psf's share of concordant signs, in [0,1]; ignored by other modes
 * @param sigma      fa's standard deviation of B, or with {@code uniformB} its bound: B ~ U(−sigma, sigma)
 * @param halfNormal magnitudes |N(0,1)| instead of U(0,1)
 * @param seed       the run's seed (the Philox key)
 * @param layer      the weight layer's 0-based index (Philox counter word 2)
 * @param step       the 0-based training step; only brsf uses it
 * @param uniformB   fa's B uniform on ±sigma (BioTorch's Xavier-uniform feedback) instead of N(0, sigma²)
 */
public record Feedback(FeedbackMode mode, float scale, float p, float sigma, boolean halfNormal,
                       long seed, int layer, int step, boolean uniformB) {

    /** Bits of {@link #flags}, as FB_FLAG_* in kernels/common/philox.h. */
    public static final int FLAG_HALF_NORMAL = 1, FLAG_UNIFORM_B = 2;

    public Feedback {
        if (mode == FeedbackMode.DFA)
            throw new IllegalArgumentException("dfa is not a per-layer feedback: its B_l are fa feedbacks (FeedbackSpec.forLayer)");
    }

    /** Normal B (the default). */
    public Feedback(FeedbackMode mode, float scale, float p, float sigma, boolean halfNormal, long seed, int layer, int step) {
        this(mode, scale, p, sigma, halfNormal, seed, layer, step, false);
    }

    /** Symmetric backprop, V = W. */
    public static Feedback bp() { return new Feedback(FeedbackMode.BP, 1f, 1f, 0f, false, 0L, 0, 0); }

    public Feedback withLayer(int layer, float sigma) {
        return new Feedback(mode, scale, p, sigma, halfNormal, seed, layer, step, uniformB);
    }

    public Feedback atStep(int step) {
        return new Feedback(mode, scale, p, sigma, halfNormal, seed, layer, step, uniformB);
    }

    /** The kernels' fb_flags word: bit 0 half-normal magnitudes, bit 1 uniform B. */
    /** feedbackProject's precondition (dfa's B is fa's generator): the same check and message on every backend. */
    public void requireFa(String op) {
        if (mode != FeedbackMode.FA)
            throw new IllegalArgumentException(op + " needs an fa-mode feedback, got " + mode.cliName());
    }

    public int flags() { return (halfNormal ? FLAG_HALF_NORMAL : 0) | (uniformB ? FLAG_UNIFORM_B : 0); }

    /** The Philox step used for the magnitudes: brsf redraws every step, the rest draw once. */
    public int magnitudeStep() { return mode == FeedbackMode.BRSF ? step : 0; }

    /** sign(0) = 0, also for -0.0; NaN gives 0 (docs/spec.md §3). */
    public static float sign(float w) {
        return (w > 0f ? 1f : 0f) - (w < 0f ? 1f : 0f);
    }

    /** A magnitude M (before the scale): U(0,1) or |N(0,1)|. */
    public float magnitude(long index) {
        return halfNormal
                ? Math.abs(Philox.normal(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, magnitudeStep(), index))
                : Philox.uniform(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, magnitudeStep(), index);
    }

    /** 2u − 1 for a uniform u: exact (u is a multiple of 2^-24 in [0, 1)), in [−1, 1). */
    public static float centred(float u) { return (u + u) - 1f; }

    /** V at flat index {@code index}, given W there. The reference every kernel must match bit for bit. */
    public float v(float w, long index) {
        switch (mode) {
            case BP: return w;
            case USF: return scale * sign(w);
            case BRSF:
            case FRSF: return (scale * magnitude(index)) * sign(w);
            case FA: return uniformB ? sigma * centred(Philox.uniform(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, 0, index))
                    : sigma * Philox.normal(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, 0, index);
            case PSF: {
                float u = Philox.uniform(seed, Philox.PURPOSE_FEEDBACK_FLIP, layer, 0, index);
                float s = u < p ? sign(w) : -sign(w);
                return (scale * magnitude(index)) * s;
            }
            default: throw new IllegalStateException("unknown feedback mode " + mode);
        }
    }
}
