package asymbp.cpu;

/**
 * Batch norm's per-channel loops for a range of channels [c0, c1), x viewed as batch×channels×spatial.
 * With spatial = 1 (after a linear layer) a channel's values are strided, so the loops run over rows
 * and vectorise across channels; with spatial &gt; 1 each (row, channel) is a contiguous segment.
 * Sums over a segment use four float accumulators (instruction-level parallelism); sums across
 * segments are double. {@link VectorBatchNormKernels} replaces the per-segment primitives.
 */
class BatchNormKernels {

    /** mean[c] and dev2[c] = Σ(x − mean)² for c in [c0, c1). */
    void moments(float[] x, int xo, int batch, int channels, int spatial, int c0, int c1,
                        float[] mean, float[] dev2) {
        long n = (long) batch * spatial;
        if (spatial == 1) {
            java.util.Arrays.fill(mean, c0, c1, 0f);
            java.util.Arrays.fill(dev2, c0, c1, 0f);
            for (int b = 0; b < batch; b++) {
                int row = xo + b * channels;
                for (int c = c0; c < c1; c++) mean[c] += x[row + c];
            }
            for (int c = c0; c < c1; c++) mean[c] /= n;
            for (int b = 0; b < batch; b++) {
                int row = xo + b * channels;
                for (int c = c0; c < c1; c++) { float d = x[row + c] - mean[c]; dev2[c] += d * d; }
            }
            return;
        }
        int stride = channels * spatial;
        for (int c = c0; c < c1; c++) {
            double sum = 0;
            for (int b = 0; b < batch; b++) sum += sum(x, xo + b * stride + c * spatial, spatial);
            float mu = (float) (sum / n);
            double sq = 0;
            for (int b = 0; b < batch; b++) sq += sumSquaredDeviation(x, xo + b * stride + c * spatial, spatial, mu);
            mean[c] = mu;
            dev2[c] = (float) sq;
        }
    }

    /** y = gamma·((x − mean)·invStd) + beta, then max(0,·) if relu. */
    void normalize(float[] y, int yo, float[] x, int xo, int batch, int channels, int spatial, int c0, int c1,
                          float[] mean, float[] invStd, float[] gamma, int go, float[] beta, int bo, boolean relu) {
        if (spatial == 1) {
            for (int b = 0; b < batch; b++) {
                int row = b * channels;
                for (int c = c0; c < c1; c++) {
                    float v = gamma[go + c] * ((x[xo + row + c] - mean[c]) * invStd[c]) + beta[bo + c];
                    y[yo + row + c] = relu ? Math.max(v, 0f) : v;
                }
            }
            return;
        }
        int stride = channels * spatial;
        for (int c = c0; c < c1; c++) {
            float mu = mean[c], inv = invStd[c], g = gamma[go + c], be = beta[bo + c];
            for (int b = 0; b < batch; b++) {
                int at = b * stride + c * spatial;
                if (relu) for (int q = at; q < at + spatial; q++) y[yo + q] = Math.max(g * ((x[xo + q] - mu) * inv) + be, 0f);
                else for (int q = at; q < at + spatial; q++) y[yo + q] = g * ((x[xo + q] - mu) * inv) + be;
            }
        }
    }

    /**
     * sumG[c] = Σ g and sumGXhat[c] = Σ g·xhat with g = dy·[y &gt; 0] (or dy when y is null) and
     * xhat = (x − mean)·invStd.
     */
    void gradientSums(float[] dy, int dyo, float[] y, int yo, float[] x, int xo, int batch, int channels,
                             int spatial, int c0, int c1, float[] mean, float[] invStd, float[] sumG, float[] sumGXhat) {
        if (spatial == 1) {
            java.util.Arrays.fill(sumG, c0, c1, 0f);
            java.util.Arrays.fill(sumGXhat, c0, c1, 0f);
            for (int b = 0; b < batch; b++) {
                int row = b * channels;
                rowSums(dy, dyo + row, y, y == null ? 0 : yo + row, x, xo + row, c0, c1, mean, invStd, sumG, sumGXhat);
            }
            return;
        }
        int stride = channels * spatial;
        float[] pair = new float[2];
        for (int c = c0; c < c1; c++) {
            float mu = mean[c], inv = invStd[c];
            double sg = 0, sgx = 0;
            for (int b = 0; b < batch; b++) {
                int at = b * stride + c * spatial;
                segmentSums(dy, dyo + at, y, yo + at, x, xo + at, spatial, mu, inv, pair);
                sg += pair[0];
                sgx += pair[1];
            }
            sumG[c] = (float) sg;
            sumGXhat[c] = (float) sgx;
        }
    }

    /** One row of a linear layer's BN (channels [c0, c1) at row offsets): sumG[c] += g, sumGXhat[c] += g·xhat. */
    void rowSums(float[] dy, int dyRow, float[] y, int yRow, float[] x, int xRow, int c0, int c1,
                 float[] mean, float[] invStd, float[] sumG, float[] sumGXhat) {
        for (int c = c0; c < c1; c++) {
            float g = y == null ? dy[dyRow + c] : Branchless.gate(dy[dyRow + c], y[yRow + c]);
            sumG[c] += g;
            sumGXhat[c] += g * ((x[xRow + c] - mean[c]) * invStd[c]);
        }
    }

    /** One row: dx = k·(n·g − sumG − xhat·sumGXhat) per channel. */
    void rowInputGradient(float[] dx, int dxRow, float[] dy, int dyRow, float[] y, int yRow, float[] x, int xRow,
                          int c0, int c1, float[] mean, float[] invStd, float[] k, float n, float[] sumG, float[] sumGXhat) {
        for (int c = c0; c < c1; c++) {
            float g = y == null ? dy[dyRow + c] : Branchless.gate(dy[dyRow + c], y[yRow + c]);
            float xhat = (x[xRow + c] - mean[c]) * invStd[c];
            dx[dxRow + c] = k[c] * (n * g - sumG[c] - xhat * sumGXhat[c]);
        }
    }

    /** out[0] = Σ g, out[1] = Σ g·(x − mu)·inv over one segment; g = dy·[y &gt; 0], or dy when y is null. */
    void segmentSums(float[] dy, int dyAt, float[] y, int yAt, float[] x, int xAt, int len, float mu, float inv, float[] out) {
        float g0 = 0, g1 = 0, h0 = 0, h1 = 0;
        int q = 0;
        for (; q + 1 < len; q += 2) {
            float ga = y == null ? dy[dyAt + q] : Branchless.gate(dy[dyAt + q], y[yAt + q]);
            float gb = y == null ? dy[dyAt + q + 1] : Branchless.gate(dy[dyAt + q + 1], y[yAt + q + 1]);
            g0 += ga; g1 += gb;
            h0 += ga * ((x[xAt + q] - mu) * inv);
            h1 += gb * ((x[xAt + q + 1] - mu) * inv);
        }
        for (; q < len; q++) {
            float ga = y == null ? dy[dyAt + q] : Branchless.gate(dy[dyAt + q], y[yAt + q]);
            g0 += ga;
            h0 += ga * ((x[xAt + q] - mu) * inv);
        }
        out[0] = g0 + g1;
        out[1] = h0 + h1;
    }

    /** dx = gamma·invStd/n · (n·g − sumG − xhat·sumGXhat); k is per-channel scratch. */
    void inputGradient(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, float[] x, int xo,
                              int batch, int channels, int spatial, int c0, int c1, float[] mean, float[] invStd,
                              float[] gamma, int go, float[] sumG, float[] sumGXhat, float[] k) {
        float n = (float) ((long) batch * spatial);
        if (spatial == 1) {
            for (int c = c0; c < c1; c++) k[c] = gamma[go + c] * invStd[c] / n;
            for (int b = 0; b < batch; b++) {
                int row = b * channels;
                rowInputGradient(dx, dxo + row, dy, dyo + row, y, y == null ? 0 : yo + row, x, xo + row, c0, c1,
                        mean, invStd, k, n, sumG, sumGXhat);
            }
            return;
        }
        int stride = channels * spatial;
        for (int c = c0; c < c1; c++) {
            float mu = mean[c], inv = invStd[c], kc = gamma[go + c] * inv / n, sg = sumG[c], sgx = sumGXhat[c];
            for (int b = 0; b < batch; b++) {
                int at = b * stride + c * spatial;
                segmentInputGradient(dx, dxo + at, dy, dyo + at, y, yo + at, x, xo + at, spatial, mu, inv, kc, n, sg, sgx);
            }
        }
    }

    /** dx = kc·(n·g − sg − ((x − mu)·inv)·sgx) over one segment. */
    void segmentInputGradient(float[] dx, int dxAt, float[] dy, int dyAt, float[] y, int yAt, float[] x, int xAt, int len,
                              float mu, float inv, float kc, float n, float sg, float sgx) {
        if (y == null)
            for (int q = 0; q < len; q++)
                dx[dxAt + q] = kc * (n * dy[dyAt + q] - sg - ((x[xAt + q] - mu) * inv) * sgx);
        else
            for (int q = 0; q < len; q++)
                dx[dxAt + q] = kc * (n * Branchless.gate(dy[dyAt + q], y[yAt + q]) - sg - ((x[xAt + q] - mu) * inv) * sgx);
    }

    /** Σ a over [from, from+len). */
    float sum(float[] a, int from, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int q = from, end = from + len;
        for (; q + 3 < end; q += 4) { s0 += a[q]; s1 += a[q + 1]; s2 += a[q + 2]; s3 += a[q + 3]; }
        for (; q < end; q++) s0 += a[q];
        return (s0 + s1) + (s2 + s3);
    }

    /** Σ (a − mean)² over [from, from+len). */
    float sumSquaredDeviation(float[] a, int from, int len, float mean) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int q = from, end = from + len;
        for (; q + 3 < end; q += 4) {
            float d0 = a[q] - mean, d1 = a[q + 1] - mean, d2 = a[q + 2] - mean, d3 = a[q + 3] - mean;
            s0 += d0 * d0; s1 += d1 * d1; s2 += d2 * d2; s3 += d3 * d3;
        }
        for (; q < end; q++) { float d = a[q] - mean; s0 += d * d; }
        return (s0 + s1) + (s2 + s3);
    }
}
