package asymbp.cpu;

/**
 * Plain-Java tile, for JVMs without the Vector API: the 8×32 tile as sixteen 4×4 blocks, each summed
 * over k in sixteen scalar registers (4 A and 4 B loads per 16 multiply-adds). About 2× a rank-1
 * update loop, whose 32-long inner loop is too short for the JIT's vectoriser (measured 13 vs 6 GFLOP/s).
 */
final class ScalarKernel implements MicroKernel {

    @Override
    public void tile(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate) {
        for (int rr = 0; rr < MR; rr += 4)
            for (int jj = 0; jj < NR; jj += 4) {
                float c00 = 0, c01 = 0, c02 = 0, c03 = 0, c10 = 0, c11 = 0, c12 = 0, c13 = 0;
                float c20 = 0, c21 = 0, c22 = 0, c23 = 0, c30 = 0, c31 = 0, c32 = 0, c33 = 0;
                for (int k = 0; k < kc; k++) {
                    int ak = aOff + k * MR + rr, bk = bOff + k * NR + jj;
                    float a0 = a[ak], a1 = a[ak + 1], a2 = a[ak + 2], a3 = a[ak + 3];
                    float b0 = b[bk], b1 = b[bk + 1], b2 = b[bk + 2], b3 = b[bk + 3];
                    c00 += a0 * b0; c01 += a0 * b1; c02 += a0 * b2; c03 += a0 * b3;
                    c10 += a1 * b0; c11 += a1 * b1; c12 += a1 * b2; c13 += a1 * b3;
                    c20 += a2 * b0; c21 += a2 * b1; c22 += a2 * b2; c23 += a2 * b3;
                    c30 += a3 * b0; c31 += a3 * b1; c32 += a3 * b2; c33 += a3 * b3;
                }
                int o = cOff + rr * ldc + jj;
                store(c, o, accumulate, c00, c01, c02, c03);
                store(c, o + ldc, accumulate, c10, c11, c12, c13);
                store(c, o + 2 * ldc, accumulate, c20, c21, c22, c23);
                store(c, o + 3 * ldc, accumulate, c30, c31, c32, c33);
            }
    }

    private static void store(float[] c, int o, boolean accumulate, float v0, float v1, float v2, float v3) {
        if (accumulate) {
            c[o] += v0; c[o + 1] += v1; c[o + 2] += v2; c[o + 3] += v3;
        } else {
            c[o] = v0; c[o + 1] = v1; c[o + 2] = v2; c[o + 3] = v3;
        }
    }

    @Override
    public String describe() { return "scalar"; }
}
