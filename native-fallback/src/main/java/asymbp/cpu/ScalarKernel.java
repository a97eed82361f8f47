package asymbp.cpu;

/** Plain-Java tile: a rank-1 update of the C tile per k (the JIT vectorises the inner loop where it can). */
final class ScalarKernel implements MicroKernel {

    @Override
    public void tile(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
        if (!accumulate)
            for (int r = 0; r < MR; r++)
                java.util.Arrays.fill(c, cOff + r * ldc, cOff + r * ldc + NR, 0f);
        for (int k = 0; k < kc; k++) {
            int bk = bOff + k * NR;
            for (int r = 0; r < MR; r++) {
                float ar = a[aOff + k * MR + r];
                int cr = cOff + r * ldc;
                for (int j = 0; j < NR; j++) c[cr + j] += ar * b[bk + j];
            }
        }
    }

    @Override
    public String describe() { return "scalar"; }
}
