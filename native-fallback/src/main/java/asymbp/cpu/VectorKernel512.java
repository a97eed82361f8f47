package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-blocked 4×32 tile with 512-bit vectors: 8 accumulators, two B vectors and one broadcast
 * A value per row live in registers; one fused multiply-add per accumulator per k.
 * Loaded only when jdk.incubator.vector is present (see {@link Kernels}).
 */
final class VectorKernel512 implements MicroKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;

    @Override
    public void tile(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk);
            FloatVector b1 = FloatVector.fromArray(S, b, bk + 16);
            FloatVector a0 = FloatVector.broadcast(S, a[ak]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01);
            FloatVector a1 = FloatVector.broadcast(S, a[ak + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11);
            FloatVector a2 = FloatVector.broadcast(S, a[ak + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21);
            FloatVector a3 = FloatVector.broadcast(S, a[ak + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31);
        }
        store(c00, c01, c, cOff, accumulate);
        store(c10, c11, c, cOff + ldc, accumulate);
        store(c20, c21, c, cOff + 2 * ldc, accumulate);
        store(c30, c31, c, cOff + 3 * ldc, accumulate);
    }

    private static void store(FloatVector lo, FloatVector hi, float[] c, int off, boolean accumulate) {
        if (accumulate) {
            lo = lo.add(FloatVector.fromArray(S, c, off));
            hi = hi.add(FloatVector.fromArray(S, c, off + 16));
        }
        lo.intoArray(c, off);
        hi.intoArray(c, off + 16);
    }

    @Override
    public String describe() { return "Vector API 512-bit"; }
}
