package asymbp.cpu;

import asymbp.backend.Feedback;
import asymbp.rng.Philox;

/**
 * Regenerates V = V(W) (SPEC §3) for a run of consecutive flat weight indices: the packing of the
 * backward GEMM calls it panel row by panel row, so V is never stored whole. Bit-exact with
 * {@link Feedback#v}. One instance per thread (it keeps its scratch words).
 */
final class FeedbackRow {
    private final PhiloxWords philox;
    private int[] w0 = new int[0], w1 = new int[0], w2 = new int[0], w3 = new int[0];

    FeedbackRow(PhiloxWords philox) { this.philox = philox; }

    /** dst[dstOff + j] = V at flat index index0 + j, given w[wOff + j], for j &lt; n. */
    void fill(Feedback fb, float[] w, int wOff, long index0, int n, float[] dst, int dstOff) {
        switch (fb.mode()) {
            case BP:
                System.arraycopy(w, wOff, dst, dstOff, n);
                return;
            case USF: {
                float s = fb.scale();
                for (int j = 0; j < n; j++) dst[dstOff + j] = s * sign(w[wOff + j]);
                return;
            }
            case BRSF:
            case FRSF: {
                magnitudeWords(fb, index0, n);
                float s = fb.scale();
                for (int j = 0; j < n; j++) dst[dstOff + j] = (s * magnitude(fb, j)) * sign(w[wOff + j]);
                return;
            }
            case FA: {
                ensure(n);
                philox.words(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), 0, index0, n, w0, w1, w2, w3);
                float sigma = fb.sigma();
                for (int j = 0; j < n; j++) dst[dstOff + j] = sigma * normal(j);
                return;
            }
            case PSF: {
                // u first (into w0, copied aside), then the magnitudes reuse the scratch words.
                ensure(n);
                philox.words(fb.seed(), Philox.PURPOSE_FEEDBACK_FLIP, fb.layer(), 0, index0, n, w0, null, null, null);
                float p = fb.p(), s = fb.scale();
                for (int j = 0; j < n; j++) {
                    float u = (w0[j] >>> 8) * Philox.UNIT;
                    dst[dstOff + j] = u < p ? sign(w[wOff + j]) : -sign(w[wOff + j]);
                }
                magnitudeWords(fb, index0, n);
                for (int j = 0; j < n; j++) dst[dstOff + j] = (s * magnitude(fb, j)) * dst[dstOff + j];
                return;
            }
            default:
                throw new IllegalStateException("unknown feedback mode " + fb.mode());
        }
    }

    /** sign(0) = 0, also for −0.0 and NaN (SPEC §3). */
    static float sign(float w) {
        return (w > 0f ? 1f : 0f) - (w < 0f ? 1f : 0f);
    }

    private void magnitudeWords(Feedback fb, long index0, int n) {
        ensure(n);
        if (fb.halfNormal())
            philox.words(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), fb.magnitudeStep(), index0, n, w0, w1, w2, w3);
        else
            philox.words(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), fb.magnitudeStep(), index0, n, w0, null, null, null);
    }

    private float magnitude(Feedback fb, int j) {
        return fb.halfNormal() ? Math.abs(normal(j)) : (w0[j] >>> 8) * Philox.UNIT;
    }

    private float normal(int j) {
        int s = (w0[j] >>> 8) + (w1[j] >>> 8) + (w2[j] >>> 8) + (w3[j] >>> 8);
        return (float) (s - (1 << 25)) * Philox.NORMAL_SCALE;
    }

    private void ensure(int n) {
        if (w0.length < n) {
            int len = Math.max(n, 64);
            w0 = new int[len]; w1 = new int[len]; w2 = new int[len]; w3 = new int[len];
        }
    }

    String describe() { return philox.describe(); }
}
