package asymbp.cpu;

import asymbp.backend.Feedback;
import asymbp.rng.Philox;

/**
 * Regenerates V = V(W) (docs/spec.md §3) for a run of consecutive flat weight indices: the packing of the
 * backward GEMM calls it panel row by panel row, so V is never stored whole. This plain-Java version
 * is the definition spelled out; {@link VectorFeedbackRow} computes the same bits eight at a time.
 * One instance per thread.
 */
class FeedbackRow {
    private final int[] block = new int[4];

    /** dst[dstOff + j] = V at flat index index0 + j, given w[wOff + j], for j &lt; n. */
    void fill(Feedback fb, float[] w, int wOff, long index0, int n, float[] dst, int dstOff) {
        if (fb.mode() == asymbp.backend.FeedbackMode.BP) {   // V = W
            System.arraycopy(w, wOff, dst, dstOff, n);
            return;
        }
        long seed = fb.seed();
        int layer = fb.layer();
        float s = fb.scale();
        for (int j = 0; j < n; j++) {
            long index = index0 + j;
            float wj = w[wOff + j], v;
            switch (fb.mode()) {
                case BP: v = wj; break;
                case USF: v = s * sign(wj); break;
                case BRSF:
                case FRSF: v = (s * magnitude(fb, index)) * sign(wj); break;
                case FA: v = fb.uniformB() ? fb.sigma() * Feedback.centred(uniform(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, 0, index))
                        : fb.sigma() * normal(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, 0, index); break;
                case PSF: {
                    float u = uniform(seed, Philox.PURPOSE_FEEDBACK_FLIP, layer, 0, index);
                    v = (s * magnitude(fb, index)) * (u < fb.p() ? sign(wj) : -sign(wj));
                    break;
                }
                default: throw new IllegalStateException("unknown feedback mode " + fb.mode());
            }
            dst[dstOff + j] = v;
        }
    }

    /** sign(0) = 0, also for −0.0 and NaN (docs/spec.md §3). */
    static float sign(float w) {
        return Branchless.sign(w);
    }

    /** M before the scale: U(0,1) or |N(0,1)|, at the step brsf redraws and the others keep at 0. */
    private float magnitude(Feedback fb, long index) {
        return fb.halfNormal()
                ? Math.abs(normal(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), fb.magnitudeStep(), index))
                : uniform(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), fb.magnitudeStep(), index);
    }

    private float uniform(long seed, int purpose, int layer, int step, long index) {
        Philox.block(seed, purpose, layer, step, index, block);
        return (block[0] >>> 8) * Philox.UNIT;
    }

    private float normal(long seed, int purpose, int layer, int step, long index) {
        Philox.block(seed, purpose, layer, step, index, block);
        int sum = (block[0] >>> 8) + (block[1] >>> 8) + (block[2] >>> 8) + (block[3] >>> 8);
        return (float) (sum - (1 << 25)) * Philox.NORMAL_SCALE;
    }

    String describe() { return getClass() == FeedbackRow.class ? "scalar Philox" : "Vector API Philox"; }
}
