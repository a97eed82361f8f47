package asymbp.cpu;

/**
 * Batch norm's per-channel loops for a range of channels [c0, c1), x viewed as batch×channels×spatial.
 * With spatial = 1 (after a linear layer) a channel's values are strided, so the loops run over rows
 * and vectorise across channels; with spatial &gt; 1 each (row, channel) is a contiguous segment.
 * Sums over a segment use four float accumulators (instruction-level parallelism); sums across
 * segments are double.
 */
final class BatchNormKernels {
    private BatchNormKernels() {}

    /** mean[c] and dev2[c] = Σ(x − mean)² for c in [c0, c1). */
    static void moments(float[] x, int xo, int batch, int channels, int spatial, int c0, int c1,
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
    static void normalize(float[] y, int yo, float[] x, int xo, int batch, int channels, int spatial, int c0, int c1,
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
    static void gradientSums(float[] dy, int dyo, float[] y, int yo, float[] x, int xo, int batch, int channels,
                             int spatial, int c0, int c1, float[] mean, float[] invStd, float[] sumG, float[] sumGXhat) {
        if (spatial == 1) {
            java.util.Arrays.fill(sumG, c0, c1, 0f);
            java.util.Arrays.fill(sumGXhat, c0, c1, 0f);
            for (int b = 0; b < batch; b++) {
                int row = b * channels;
                if (y == null) {
                    for (int c = c0; c < c1; c++) {
                        float g = dy[dyo + row + c];
                        sumG[c] += g;
                        sumGXhat[c] += g * ((x[xo + row + c] - mean[c]) * invStd[c]);
                    }
                } else {
                    for (int c = c0; c < c1; c++) {
                        float g = Branchless.gate(dy[dyo + row + c], y[yo + row + c]);
                        sumG[c] += g;
                        sumGXhat[c] += g * ((x[xo + row + c] - mean[c]) * invStd[c]);
                    }
                }
            }
            return;
        }
        int stride = channels * spatial;
        for (int c = c0; c < c1; c++) {
            float mu = mean[c], inv = invStd[c];
            double sg = 0, sgx = 0;
            for (int b = 0; b < batch; b++) {
                int at = b * stride + c * spatial;
                float g0 = 0, g1 = 0, h0 = 0, h1 = 0;
                int q = at, end = at + spatial;
                for (; q + 1 < end; q += 2) {
                    float ga = y == null ? dy[dyo + q] : Branchless.gate(dy[dyo + q], y[yo + q]);
                    float gb = y == null ? dy[dyo + q + 1] : Branchless.gate(dy[dyo + q + 1], y[yo + q + 1]);
                    g0 += ga; g1 += gb;
                    h0 += ga * ((x[xo + q] - mu) * inv);
                    h1 += gb * ((x[xo + q + 1] - mu) * inv);
                }
                for (; q < end; q++) {
                    float ga = y == null ? dy[dyo + q] : Branchless.gate(dy[dyo + q], y[yo + q]);
                    g0 += ga;
                    h0 += ga * ((x[xo + q] - mu) * inv);
                }
                sg += g0 + g1;
                sgx += h0 + h1;
            }
            sumG[c] = (float) sg;
            sumGXhat[c] = (float) sgx;
        }
    }

    /** dx = gamma·invStd/n · (n·g − sumG − xhat·sumGXhat); k is per-channel scratch. */
    static void inputGradient(float[] dx, int dxo, float[] dy, int dyo, float[] y, int yo, float[] x, int xo,
                              int batch, int channels, int spatial, int c0, int c1, float[] mean, float[] invStd,
                              float[] gamma, int go, float[] sumG, float[] sumGXhat, float[] k) {
        float n = (float) ((long) batch * spatial);
        if (spatial == 1) {
            for (int c = c0; c < c1; c++) k[c] = gamma[go + c] * invStd[c] / n;
            for (int b = 0; b < batch; b++) {
                int row = b * channels;
                if (y == null) {
                    for (int c = c0; c < c1; c++) {
                        float xhat = (x[xo + row + c] - mean[c]) * invStd[c];
                        dx[dxo + row + c] = k[c] * (n * dy[dyo + row + c] - sumG[c] - xhat * sumGXhat[c]);
                    }
                } else {
                    for (int c = c0; c < c1; c++) {
                        float g = Branchless.gate(dy[dyo + row + c], y[yo + row + c]);
                        float xhat = (x[xo + row + c] - mean[c]) * invStd[c];
                        dx[dxo + row + c] = k[c] * (n * g - sumG[c] - xhat * sumGXhat[c]);
                    }
                }
            }
            return;
        }
        int stride = channels * spatial;
        for (int c = c0; c < c1; c++) {
            float mu = mean[c], inv = invStd[c], kc = gamma[go + c] * inv / n, sg = sumG[c], sgx = sumGXhat[c];
            for (int b = 0; b < batch; b++) {
                int at = b * stride + c * spatial;
                if (y == null)
                    for (int q = at; q < at + spatial; q++)
                        dx[dxo + q] = kc * (n * dy[dyo + q] - sg - ((x[xo + q] - mu) * inv) * sgx);
                else
                    for (int q = at; q < at + spatial; q++)
                        dx[dxo + q] = kc * (n * Branchless.gate(dy[dyo + q], y[yo + q]) - sg - ((x[xo + q] - mu) * inv) * sgx);
            }
        }
    }

    private static float sum(float[] a, int from, int len) {
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int q = from, end = from + len;
        for (; q + 3 < end; q += 4) { s0 += a[q]; s1 += a[q + 1]; s2 += a[q + 2]; s3 += a[q + 3]; }
        for (; q < end; q++) s0 += a[q];
        return (s0 + s1) + (s2 + s3);
    }

    private static float sumSquaredDeviation(float[] a, int from, int len, float mean) {
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
