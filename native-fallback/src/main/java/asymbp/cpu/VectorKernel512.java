package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register-blocked 8×32 tile with 512-bit vectors: 16 accumulators, two B vectors and one broadcast A
 * value live in registers (19 of the 32); per k, 16 fused multiply-adds for 10 loads.
 * Loaded only when jdk.incubator.vector is present (see {@link Kernels}).
 */
final class VectorKernel512 implements MicroKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;

    /*
     * Two bodies, not one with an "if (accumulate)" after the loop: C2 compiled the single 1053-byte method
     * into code that boxed half the accumulators (their stores' intrinsics failed) in about one JVM in four,
     * depending on the profile at compile time, which halved the throughput of the whole run. Each body
     * alone is small enough to compile the same way every time. Same arithmetic as before: the tile sum is
     * formed from zero, then added to C.
     */
    @Override
    public void tile(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
        if (accumulate) tileAdd(kc, a, aOff, b, bOff, c, cOff, ldc);
        else tileSet(kc, a, aOff, b, bOff, c, cOff, ldc);
    }

    /** C = A·B. */
    private static void tileSet(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S);
        FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
        FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S);
        FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
        FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S);
        FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
        FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S);
        FloatVector c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
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
            FloatVector a4 = FloatVector.broadcast(S, a[ak + 4]);
            c40 = a4.fma(b0, c40); c41 = a4.fma(b1, c41);
            FloatVector a5 = FloatVector.broadcast(S, a[ak + 5]);
            c50 = a5.fma(b0, c50); c51 = a5.fma(b1, c51);
            FloatVector a6 = FloatVector.broadcast(S, a[ak + 6]);
            c60 = a6.fma(b0, c60); c61 = a6.fma(b1, c61);
            FloatVector a7 = FloatVector.broadcast(S, a[ak + 7]);
            c70 = a7.fma(b0, c70); c71 = a7.fma(b1, c71);
        }
        int o = cOff;
        c00.intoArray(c, o); c01.intoArray(c, o + 16); o += ldc;
        c10.intoArray(c, o); c11.intoArray(c, o + 16); o += ldc;
        c20.intoArray(c, o); c21.intoArray(c, o + 16); o += ldc;
        c30.intoArray(c, o); c31.intoArray(c, o + 16); o += ldc;
        c40.intoArray(c, o); c41.intoArray(c, o + 16); o += ldc;
        c50.intoArray(c, o); c51.intoArray(c, o + 16); o += ldc;
        c60.intoArray(c, o); c61.intoArray(c, o + 16); o += ldc;
        c70.intoArray(c, o); c71.intoArray(c, o + 16);
    }

    /**
     * C += A·B as two four-row halves: the 16-accumulator form of this body, like the old single method,
     * still lost the intrinsics of its last stores in some JVMs (its loads and adds make it larger than
     * tileSet). Half the accumulators per method costs one more pair of B loads per k, on the rarer path.
     */
    private static void tileAdd(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
        addFourRows(kc, a, aOff, b, bOff, c, cOff, ldc);
        addFourRows(kc, a, aOff + 4, b, bOff, c, cOff + 4 * ldc, ldc);
    }

    /** Rows r = 0..3 of A's panel at aOff (stride MR per k): C[r] += Σ_k A·B. */
    private static void addFourRows(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc) {
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
        int o = cOff;
        c00.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c01.add(FloatVector.fromArray(S, c, o + 16)).intoArray(c, o + 16); o += ldc;
        c10.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c11.add(FloatVector.fromArray(S, c, o + 16)).intoArray(c, o + 16); o += ldc;
        c20.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c21.add(FloatVector.fromArray(S, c, o + 16)).intoArray(c, o + 16); o += ldc;
        c30.add(FloatVector.fromArray(S, c, o)).intoArray(c, o);
        c31.add(FloatVector.fromArray(S, c, o + 16)).intoArray(c, o + 16);
    }

    @Override
    public String describe() { return "Vector API 512-bit"; }
}
