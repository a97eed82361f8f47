package asymbp.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Batch norm's per-segment sums and its input gradient with 512-bit vectors (sixteen values a step,
 * the ReLU gate as a lane mask). Element-wise results equal the scalar code's bit for bit; the sums
 * add in another order (float rounding only). Loaded only when jdk.incubator.vector is present.
 */
final class VectorBatchNormKernels extends BatchNormKernels {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_512;
    private static final int L = 16;

    @Override
    float sum(float[] a, int from, int len) {
        int full = len - len % L;
        FloatVector acc = FloatVector.zero(S);
        for (int q = 0; q < full; q += L) acc = acc.add(FloatVector.fromArray(S, a, from + q));
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (int q = full; q < len; q++) s += a[from + q];
        return s;
    }

    @Override
    float sumSquaredDeviation(float[] a, int from, int len, float mean) {
        int full = len - len % L;
        FloatVector acc = FloatVector.zero(S);
        for (int q = 0; q < full; q += L) {
            FloatVector d = FloatVector.fromArray(S, a, from + q).sub(mean);
            acc = d.fma(d, acc);
        }
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (int q = full; q < len; q++) { float d = a[from + q] - mean; s += d * d; }
        return s;
    }

    @Override
    void rowSums(float[] dy, int dyRow, float[] y, int yRow, float[] x, int xRow, int c0, int c1,
                 float[] mean, float[] invStd, float[] sumG, float[] sumGXhat) {
        int full = c0 + (c1 - c0) - (c1 - c0) % L;
        FloatVector zero = FloatVector.zero(S);
        for (int c = c0; c < full; c += L) {
            FloatVector g = FloatVector.fromArray(S, dy, dyRow + c);
            if (y != null) g = zero.blend(g, FloatVector.fromArray(S, y, yRow + c).compare(VectorOperators.GT, 0f));
            FloatVector xhat = FloatVector.fromArray(S, x, xRow + c).sub(FloatVector.fromArray(S, mean, c))
                    .mul(FloatVector.fromArray(S, invStd, c));
            FloatVector.fromArray(S, sumG, c).add(g).intoArray(sumG, c);
            FloatVector.fromArray(S, sumGXhat, c).add(g.mul(xhat)).intoArray(sumGXhat, c);
        }
        if (full < c1) super.rowSums(dy, dyRow, y, yRow, x, xRow, full, c1, mean, invStd, sumG, sumGXhat);
    }

    @Override
    void rowInputGradient(float[] dx, int dxRow, float[] dy, int dyRow, float[] y, int yRow, float[] x, int xRow,
                          int c0, int c1, float[] mean, float[] invStd, float[] k, float n, float[] sumG, float[] sumGXhat) {
        int full = c0 + (c1 - c0) - (c1 - c0) % L;
        FloatVector zero = FloatVector.zero(S);
        for (int c = c0; c < full; c += L) {
            FloatVector g = FloatVector.fromArray(S, dy, dyRow + c);
            if (y != null) g = zero.blend(g, FloatVector.fromArray(S, y, yRow + c).compare(VectorOperators.GT, 0f));
            FloatVector xhat = FloatVector.fromArray(S, x, xRow + c).sub(FloatVector.fromArray(S, mean, c))
                    .mul(FloatVector.fromArray(S, invStd, c));
            // k·(n·g − sumG − xhat·sumGXhat), in the scalar code's order
            g.mul(n).sub(FloatVector.fromArray(S, sumG, c)).sub(xhat.mul(FloatVector.fromArray(S, sumGXhat, c)))
                    .mul(FloatVector.fromArray(S, k, c)).intoArray(dx, dxRow + c);
        }
        if (full < c1) super.rowInputGradient(dx, dxRow, dy, dyRow, y, yRow, x, xRow, full, c1, mean, invStd, k, n, sumG, sumGXhat);
    }

    @Override
    void segmentSums(float[] dy, int dyAt, float[] y, int yAt, float[] x, int xAt, int len, float mu, float inv, float[] out) {
        int full = len - len % L;
        FloatVector sg = FloatVector.zero(S), sgx = FloatVector.zero(S), zero = FloatVector.zero(S);
        for (int q = 0; q < full; q += L) {
            FloatVector g = FloatVector.fromArray(S, dy, dyAt + q);
            if (y != null) g = zero.blend(g, FloatVector.fromArray(S, y, yAt + q).compare(VectorOperators.GT, 0f));
            FloatVector xhat = FloatVector.fromArray(S, x, xAt + q).sub(mu).mul(inv);
            sg = sg.add(g);
            sgx = g.fma(xhat, sgx);
        }
        float g0 = sg.reduceLanes(VectorOperators.ADD), h0 = sgx.reduceLanes(VectorOperators.ADD);
        for (int q = full; q < len; q++) {
            float ga = y == null ? dy[dyAt + q] : Branchless.gate(dy[dyAt + q], y[yAt + q]);
            g0 += ga;
            h0 += ga * ((x[xAt + q] - mu) * inv);
        }
        out[0] = g0;
        out[1] = h0;
    }

    @Override
    void segmentInputGradient(float[] dx, int dxAt, float[] dy, int dyAt, float[] y, int yAt, float[] x, int xAt, int len,
                              float mu, float inv, float kc, float n, float sg, float sgx) {
        int full = len - len % L;
        FloatVector zero = FloatVector.zero(S);
        for (int q = 0; q < full; q += L) {
            FloatVector g = FloatVector.fromArray(S, dy, dyAt + q);
            if (y != null) g = zero.blend(g, FloatVector.fromArray(S, y, yAt + q).compare(VectorOperators.GT, 0f));
            FloatVector xhat = FloatVector.fromArray(S, x, xAt + q).sub(mu).mul(inv);
            // kc·(n·g − sg − xhat·sgx), the scalar code's operations in its order
            g.mul(n).sub(sg).sub(xhat.mul(sgx)).mul(kc).intoArray(dx, dxAt + q);
        }
        if (full < len)
            super.segmentInputGradient(dx, dxAt + full, dy, dyAt + full, y, y == null ? 0 : yAt + full, x, xAt + full,
                    len - full, mu, inv, kc, n, sg, sgx);
    }
}
