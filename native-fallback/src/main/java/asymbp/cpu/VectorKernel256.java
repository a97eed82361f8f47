package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/** The 4×32 tile with 256-bit vectors (AVX2 machines): 16 accumulators, four B vectors per k. */
final class VectorKernel256 implements MicroKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;

    @Override
    public void tile(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S), c03 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S), c13 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S), c23 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S), c33 = FloatVector.zero(S);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR, ak = aOff + k * MR;
            FloatVector b0 = FloatVector.fromArray(S, b, bk), b1 = FloatVector.fromArray(S, b, bk + 8);
            FloatVector b2 = FloatVector.fromArray(S, b, bk + 16), b3 = FloatVector.fromArray(S, b, bk + 24);
            FloatVector a0 = FloatVector.broadcast(S, a[ak]);
            c00 = a0.fma(b0, c00); c01 = a0.fma(b1, c01); c02 = a0.fma(b2, c02); c03 = a0.fma(b3, c03);
            FloatVector a1 = FloatVector.broadcast(S, a[ak + 1]);
            c10 = a1.fma(b0, c10); c11 = a1.fma(b1, c11); c12 = a1.fma(b2, c12); c13 = a1.fma(b3, c13);
            FloatVector a2 = FloatVector.broadcast(S, a[ak + 2]);
            c20 = a2.fma(b0, c20); c21 = a2.fma(b1, c21); c22 = a2.fma(b2, c22); c23 = a2.fma(b3, c23);
            FloatVector a3 = FloatVector.broadcast(S, a[ak + 3]);
            c30 = a3.fma(b0, c30); c31 = a3.fma(b1, c31); c32 = a3.fma(b2, c32); c33 = a3.fma(b3, c33);
        }
        store(c00, c01, c02, c03, c, cOff, accumulate);
        store(c10, c11, c12, c13, c, cOff + ldc, accumulate);
        store(c20, c21, c22, c23, c, cOff + 2 * ldc, accumulate);
        store(c30, c31, c32, c33, c, cOff + 3 * ldc, accumulate);
    }

    private static void store(FloatVector v0, FloatVector v1, FloatVector v2, FloatVector v3,
                              float[] c, int off, boolean accumulate) {
        if (accumulate) {
            v0 = v0.add(FloatVector.fromArray(S, c, off));
            v1 = v1.add(FloatVector.fromArray(S, c, off + 8));
            v2 = v2.add(FloatVector.fromArray(S, c, off + 16));
            v3 = v3.add(FloatVector.fromArray(S, c, off + 24));
        }
        v0.intoArray(c, off);
        v1.intoArray(c, off + 8);
        v2.intoArray(c, off + 16);
        v3.intoArray(c, off + 24);
    }

    @Override
    public String describe() { return "Vector API 256-bit"; }
}
