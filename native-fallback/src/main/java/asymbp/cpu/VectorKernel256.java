package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The 8×32 tile with 256-bit vectors (AVX2 machines, 16 registers): two passes of 4 rows, each with
 * 16 accumulators and four B vectors per k.
 */
final class VectorKernel256 implements MicroKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;

    @Override
    public void tile(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
        fourRows(kc, a, aOff, b, bOff, c, cOff, ldc, accumulate);
        fourRows(kc, a, aOff + 4, b, bOff, c, cOff + 4 * ldc, ldc, accumulate);
    }

    private static void fourRows(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
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
        // Written out rather than through a helper: a vector passed to a call the JIT does not inline is boxed.
        if (accumulate) {
            int o = cOff;
            c00 = c00.add(FloatVector.fromArray(S, c, o)); c01 = c01.add(FloatVector.fromArray(S, c, o + 8));
            c02 = c02.add(FloatVector.fromArray(S, c, o + 16)); c03 = c03.add(FloatVector.fromArray(S, c, o + 24)); o += ldc;
            c10 = c10.add(FloatVector.fromArray(S, c, o)); c11 = c11.add(FloatVector.fromArray(S, c, o + 8));
            c12 = c12.add(FloatVector.fromArray(S, c, o + 16)); c13 = c13.add(FloatVector.fromArray(S, c, o + 24)); o += ldc;
            c20 = c20.add(FloatVector.fromArray(S, c, o)); c21 = c21.add(FloatVector.fromArray(S, c, o + 8));
            c22 = c22.add(FloatVector.fromArray(S, c, o + 16)); c23 = c23.add(FloatVector.fromArray(S, c, o + 24)); o += ldc;
            c30 = c30.add(FloatVector.fromArray(S, c, o)); c31 = c31.add(FloatVector.fromArray(S, c, o + 8));
            c32 = c32.add(FloatVector.fromArray(S, c, o + 16)); c33 = c33.add(FloatVector.fromArray(S, c, o + 24));
        }
        int o = cOff;
        c00.intoArray(c, o); c01.intoArray(c, o + 8); c02.intoArray(c, o + 16); c03.intoArray(c, o + 24); o += ldc;
        c10.intoArray(c, o); c11.intoArray(c, o + 8); c12.intoArray(c, o + 16); c13.intoArray(c, o + 24); o += ldc;
        c20.intoArray(c, o); c21.intoArray(c, o + 8); c22.intoArray(c, o + 16); c23.intoArray(c, o + 24); o += ldc;
        c30.intoArray(c, o); c31.intoArray(c, o + 8); c32.intoArray(c, o + 16); c33.intoArray(c, o + 24);
    }

    @Override
    public String describe() { return "Vector API 256-bit"; }
}
