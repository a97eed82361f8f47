package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link DotKernel} with 512-bit vectors: 2×4 blocks of dot products, eight vector accumulators, two A
 * rows and four B rows streamed together; each accumulator is reduced across lanes once at the end.
 * Edges (rows left over, the k tail) go to the scalar code.
 */
final class VectorDotKernel extends DotKernel {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    private static final int L = 16;

    @Override
    void abt(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
             float[] c, int cOff, int ldc) {
        int kv = k - k % L, m2 = m - m % 2, n4 = n - n % 4;
        for (int i = 0; i < m2; i += 2)
            for (int j = 0; j < n4; j += 4) {
                int a0 = aOff + i * lda, a1 = a0 + lda;
                int b0 = bOff + j * ldb, b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
                FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S), c03 = FloatVector.zero(S);
                FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S), c13 = FloatVector.zero(S);
                for (int q = 0; q < kv; q += L) {
                    FloatVector x0 = FloatVector.fromArray(S, a, a0 + q), x1 = FloatVector.fromArray(S, a, a1 + q);
                    FloatVector y0 = FloatVector.fromArray(S, b, b0 + q);
                    c00 = x0.fma(y0, c00); c10 = x1.fma(y0, c10);
                    FloatVector y1 = FloatVector.fromArray(S, b, b1 + q);
                    c01 = x0.fma(y1, c01); c11 = x1.fma(y1, c11);
                    FloatVector y2 = FloatVector.fromArray(S, b, b2 + q);
                    c02 = x0.fma(y2, c02); c12 = x1.fma(y2, c12);
                    FloatVector y3 = FloatVector.fromArray(S, b, b3 + q);
                    c03 = x0.fma(y3, c03); c13 = x1.fma(y3, c13);
                }
                int r0 = cOff + i * ldc + j, r1 = r0 + ldc;
                c[r0] += c00.reduceLanes(VectorOperators.ADD) + tail(a, a0, b, b0, kv, k);
                c[r0 + 1] += c01.reduceLanes(VectorOperators.ADD) + tail(a, a0, b, b1, kv, k);
                c[r0 + 2] += c02.reduceLanes(VectorOperators.ADD) + tail(a, a0, b, b2, kv, k);
                c[r0 + 3] += c03.reduceLanes(VectorOperators.ADD) + tail(a, a0, b, b3, kv, k);
                c[r1] += c10.reduceLanes(VectorOperators.ADD) + tail(a, a1, b, b0, kv, k);
                c[r1 + 1] += c11.reduceLanes(VectorOperators.ADD) + tail(a, a1, b, b1, kv, k);
                c[r1 + 2] += c12.reduceLanes(VectorOperators.ADD) + tail(a, a1, b, b2, kv, k);
                c[r1 + 3] += c13.reduceLanes(VectorOperators.ADD) + tail(a, a1, b, b3, kv, k);
            }
        // Leftover rows and columns: one vector accumulator per dot product.
        for (int i = 0; i < m; i++)
            for (int j = (i < m2 ? n4 : 0); j < n; j++) {
                int ai = aOff + i * lda, bj = bOff + j * ldb;
                FloatVector acc = FloatVector.zero(S);
                for (int q = 0; q < kv; q += L)
                    acc = FloatVector.fromArray(S, a, ai + q).fma(FloatVector.fromArray(S, b, bj + q), acc);
                c[cOff + i * ldc + j] += acc.reduceLanes(VectorOperators.ADD) + tail(a, ai, b, bj, kv, k);
            }
    }

    private static float tail(float[] a, int ai, float[] b, int bj, int from, int k) {
        float s = 0;
        for (int q = from; q < k; q++) s += a[ai + q] * b[bj + q];
        return s;
    }
}
