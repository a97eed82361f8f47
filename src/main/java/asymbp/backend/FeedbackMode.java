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
    PSF;

    public String cliName() { return name().toLowerCase(java.util.Locale.ROOT); }
}
