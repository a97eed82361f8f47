package asymbp.cpu;

/**
 * C[m×n] += A[m×k]·B[n×k]ᵀ with both operands row-major along k: every C element is a dot product
 * of two contiguous rows, so nothing needs packing. Used where k is long and m, n are small (a
 * convolution's weight gradient: k = output positions, m = output channels, n = in·kh·kw).
 */
class DotKernel {
    void abt(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
             float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                int ai = aOff + i * lda, bj = bOff + j * ldb;
                float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
                int q = 0;
                for (; q + 3 < k; q += 4) {
                    s0 += a[ai + q] * b[bj + q];
                    s1 += a[ai + q + 1] * b[bj + q + 1];
                    s2 += a[ai + q + 2] * b[bj + q + 2];
                    s3 += a[ai + q + 3] * b[bj + q + 3];
                }
                for (; q < k; q++) s0 += a[ai + q] * b[bj + q];
                c[cOff + i * ldc + j] += (s0 + s1) + (s2 + s3);
            }
    }
}
