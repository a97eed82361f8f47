package asymbp.cpu;

import asymbp.backend.Feedback;
import asymbp.rng.Philox;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link FeedbackRow} with the Vector API: Philox words for the whole row from {@link VectorPhilox},
 * then V sixteen lanes at a time. Each lane does exactly the float operations of {@link Feedback#v} in
 * the same order, so the result is bit-exact; the ragged end of a row uses the scalar code.
 */
final class VectorFeedbackRow extends FeedbackRow {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_512;
    private static final VectorSpecies<Integer> I = IntVector.SPECIES_512;
    private static final int N = 16;

    private int[] w0 = new int[0], w1 = new int[0], w2 = new int[0], w3 = new int[0], u = new int[0];

    @Override
    void fill(Feedback fb, float[] w, int wOff, long index0, int n, float[] dst, int dstOff) {
        int full = n - n % N;
        if (full == 0 || fb.mode() == asymbp.backend.FeedbackMode.BP) {
            super.fill(fb, w, wOff, index0, n, dst, dstOff);
            return;
        }
        ensure(full);
        long seed = fb.seed();
        int layer = fb.layer();
        float s = fb.scale();
        switch (fb.mode()) {
            case USF:
                for (int j = 0; j < full; j += N)
                    sign(FloatVector.fromArray(F, w, wOff + j)).mul(s).intoArray(dst, dstOff + j);
                break;
            case BRSF:
            case FRSF:
                magnitudeWords(fb, index0, full);
                for (int j = 0; j < full; j += N)
                    magnitude(fb.halfNormal(), j).mul(s).mul(sign(FloatVector.fromArray(F, w, wOff + j))).intoArray(dst, dstOff + j);
                break;
            case FA: {
                float sigma = fb.sigma();
                if (fb.uniformB()) {   // sigma·(2u − 1), the − 1 exact
                    VectorPhilox.words(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, 0, index0, full, w0, null, null, null);
                    for (int j = 0; j < full; j += N) {
                        FloatVector uj = bitsToUnit(IntVector.fromArray(I, w0, j));
                        FloatVector.broadcast(F, sigma).mul(uj.add(uj).sub(1f)).intoArray(dst, dstOff + j);
                    }
                } else {
                    VectorPhilox.words(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, 0, index0, full, w0, w1, w2, w3);
                    for (int j = 0; j < full; j += N) normal(j).mul(sigma).intoArray(dst, dstOff + j);
                }
                break;
            }
            case PSF: {
                VectorPhilox.words(seed, Philox.PURPOSE_FEEDBACK_FLIP, layer, 0, index0, full, u, null, null, null);
                magnitudeWords(fb, index0, full);
                float p = fb.p();
                for (int j = 0; j < full; j += N) {
                    FloatVector uj = bitsToUnit(IntVector.fromArray(I, u, j));
                    FloatVector sg = sign(FloatVector.fromArray(F, w, wOff + j));
                    FloatVector chosen = sg.blend(sg.neg(), uj.compare(VectorOperators.LT, p).not());
                    magnitude(fb.halfNormal(), j).mul(s).mul(chosen).intoArray(dst, dstOff + j);
                }
                break;
            }
            default:
                throw new IllegalStateException("unknown feedback mode " + fb.mode());
        }
        if (full < n) super.fill(fb, w, wOff + full, index0 + full, n - full, dst, dstOff + full);
    }

    private void magnitudeWords(Feedback fb, long index0, int n) {
        if (fb.halfNormal())
            VectorPhilox.words(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), fb.magnitudeStep(), index0, n, w0, w1, w2, w3);
        else
            VectorPhilox.words(fb.seed(), Philox.PURPOSE_FEEDBACK_MAGNITUDE, fb.layer(), fb.magnitudeStep(), index0, n, w0, null, null, null);
    }

    /** (w &gt; 0) − (w &lt; 0): zero for ±0 and NaN. */
    private static FloatVector sign(FloatVector w) {
        VectorMask<Float> pos = w.compare(VectorOperators.GT, 0f), neg = w.compare(VectorOperators.LT, 0f);
        return FloatVector.zero(F).blend(1f, pos).blend(-1f, neg);
    }

    /** (word &gt;&gt;&gt; 8)·2^-24: U(0,1). */
    private static FloatVector bitsToUnit(IntVector word) {
        return ((FloatVector) word.lanewise(VectorOperators.LSHR, 8).convert(VectorOperators.I2F, 0)).mul(Philox.UNIT);
    }

    private FloatVector magnitude(boolean halfNormal, int j) {
        return halfNormal ? normal(j).abs() : bitsToUnit(IntVector.fromArray(I, w0, j));
    }

    /** Irwin-Hall(4): (Σ_k (w_k &gt;&gt;&gt; 8) − 2^25)·√3·2^-24. */
    private FloatVector normal(int j) {
        IntVector sum = IntVector.fromArray(I, w0, j).lanewise(VectorOperators.LSHR, 8)
                .add(IntVector.fromArray(I, w1, j).lanewise(VectorOperators.LSHR, 8))
                .add(IntVector.fromArray(I, w2, j).lanewise(VectorOperators.LSHR, 8))
                .add(IntVector.fromArray(I, w3, j).lanewise(VectorOperators.LSHR, 8))
                .sub(1 << 25);
        return ((FloatVector) sum.convert(VectorOperators.I2F, 0)).mul(Philox.NORMAL_SCALE);
    }

    private void ensure(int n) {
        if (w0.length < n) {
            int len = Math.max(n, 64);
            w0 = new int[len]; w1 = new int[len]; w2 = new int[len]; w3 = new int[len]; u = new int[len];
        }
    }
}
