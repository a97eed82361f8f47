package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link UpdateKernel} with 512-bit vectors, bit for bit the same (mul then add: no fusing). Written
 * out because C2's auto-vectorisation of the plain loop was a matter of luck: in about a third of the
 * JVM runs the MLP step spent 2.6× as long in the update (JMH -prof stack, 2026-11-27).
 */
final class VectorUpdateKernel extends UpdateKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    private static final int L = 16;

    @Override
    void apply(float[] th, int tho, float[] v, int vo, float[] g, int go, int lo, int hi, boolean manhattan,
               float lr, float momentum, float weightDecay, boolean firstStep) {
        FloatVector zero = FloatVector.zero(S);
        int q = lo;
        for (int end = hi - L; q <= end; q += L) {
            FloatVector gv = FloatVector.fromArray(S, g, go + q), t = FloatVector.fromArray(S, th, tho + q);
            if (manhattan) // sign(g): 1, −1, or +0 for ±0 and NaN, as Branchless.sign
                gv = zero.blend(1f, gv.compare(VectorOperators.GT, 0f)).sub(zero.blend(1f, gv.compare(VectorOperators.LT, 0f)));
            FloatVector d = gv.add(t.mul(weightDecay));
            FloatVector vq = firstStep ? d : FloatVector.fromArray(S, v, vo + q).mul(momentum).add(d);
            vq.intoArray(v, vo + q);
            t.sub(vq.mul(lr)).intoArray(th, tho + q);
        }
        super.apply(th, tho, v, vo, g, go, q, hi, manhattan, lr, momentum, weightDecay, firstStep);
    }
}
