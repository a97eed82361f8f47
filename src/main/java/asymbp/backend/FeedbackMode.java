package asymbp.backend;

/** What the backward pass uses in place of W (docs/spec.md §3). */
public enum FeedbackMode {
    /** V = W: true backprop ("SGD" in the paper). */
    BP,
    /** V = s * sign(W): uniform sign-concordant feedback. */
    USF,
    /** V = M_t o sign(W), M_t redrawn every training step. */
    BRSF,
    /** V = M o sign(W), M drawn once. */
    FRSF,
    /** V = B, random Gaussian feedback drawn once (feedback alignment, "RndF"). */
    FA,
    /** V = M o S, S_ij = sign(W_ij) if u_ij &lt; p else -sign(W_ij): partial sign concordance. */
    PSF,
    /**
     * Direct feedback alignment: the output error reaches each layer through its own fixed random B_l. A
     * user-facing mode only: its B_l are generated as {@link #FA} feedbacks, and no kernel sees DFA.
     */
    DFA;

    /** The modes a {@link Feedback} (and so a kernel, by ordinal: FB_* in kernels/common/philox.h) can carry: all but DFA. */
    public static FeedbackMode[] kernelModes() {
        return java.util.Arrays.stream(values()).filter(m -> m != DFA).toArray(FeedbackMode[]::new);
    }

    public String cliName() { return name().toLowerCase(java.util.Locale.ROOT); }
}
