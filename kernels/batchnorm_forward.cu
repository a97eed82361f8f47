// batchnorm_forward for CUDA: per-channel batch statistics (or running ones in evaluation), affine map,
// fused ReLU. Versions (kernels/cuda/README.md):
//   v1 batchnorm_forward              the portable body (batchnorm_forward.cl, pocl-tested), one group per
//                                     channel, training and evaluation in one kernel
//   v2 batchnorm_forward_v2_nchw      one block per channel (spatial > 1), warp-shuffle block sums
//      batchnorm_forward_v2_rows      32 channels per block (spatial == 1), coalesced column sums
//      batchnorm_forward_v2_eval      evaluation: element-wise with the running estimates, one thread per element
//   v3 batchnorm_forward_v3_partial, _v3_combine, _v3_apply
//                                     each channel split into chunks over many blocks (partial count/mean/M2,
//                                     Chan's pairwise merge in order, element-wise apply): few channels × many values
// The tuned sums write their multiply-adds as FMA (the file builds with --fmad=false); the element-wise
// rules (common/elementwise.h) round as in v1.
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "batchnorm_forward.cl"
#include "cuda/batchnorm.cuh"

// v2 nchw: grid channels, 256 threads.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_forward_v2_nchw(float* y, float* saveMean, float* saveInvStd, float* runMean, float* runVar,
                          const float* x, const float* gamma, const float* beta, int batch, int channels, int spatial,
                          float momentum, float eps, int relu) {
    __shared__ float scratch[RED_THREADS];
    const int c = blockIdx.x;
    const int n = batch * spatial;
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) s += x[bn_index(i, c, channels, spatial)];
    const float mean = block_sum(s, scratch) / (float) n;
    float s2 = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        float d = x[bn_index(i, c, channels, spatial)] - mean;
        s2 = FMA(d, d, s2);
    }
    const float m2 = block_sum(s2, scratch), var = m2 / (float) n;
    const float inv = bn_inv_std(var, eps);
    const float g = gamma[c], bt = beta[c];
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int j = bn_index(i, c, channels, spatial);
        y[j] = bn_affine(x[j], mean, inv, g, bt, relu);
    }
    if (threadIdx.x == 0) {
        saveMean[c] = mean;
        saveInvStd[c] = inv;
        bn_update_running(runMean, runVar, c, momentum, mean, m2, n);
    }
}

// v2 rows: grid ceil(channels/32), 256 threads.
extern "C" __global__ void __launch_bounds__(BN_COLS * BN_ROWS)
batchnorm_forward_v2_rows(float* y, float* saveMean, float* saveInvStd, float* runMean, float* runVar,
                          const float* x, const float* gamma, const float* beta, int batch, int channels,
                          float momentum, float eps, int relu) {
    __shared__ float scratch[BN_ROWS][BN_COLS];
    const int col = threadIdx.x % BN_COLS, row = threadIdx.x / BN_COLS;
    const int c = blockIdx.x * BN_COLS + col;
    const bool live = c < channels;
    float s = 0.f;
    if (live) for (int b = row; b < batch; b += BN_ROWS) s += x[b * channels + c];
    const float mean = column_sum(s, scratch) / (float) batch;
    float s2 = 0.f;
    if (live) for (int b = row; b < batch; b += BN_ROWS) { float d = x[b * channels + c] - mean; s2 = FMA(d, d, s2); }
    const float m2 = column_sum(s2, scratch), var = m2 / (float) batch;
    if (!live) return;
    const float inv = bn_inv_std(var, eps);
    const float g = gamma[c], bt = beta[c];
    for (int b = row; b < batch; b += BN_ROWS) {
        int j = b * channels + c;
        y[j] = bn_affine(x[j], mean, inv, g, bt, relu);
    }
    if (row == 0) {
        saveMean[c] = mean;
        saveInvStd[c] = inv;
        bn_update_running(runMean, runVar, c, momentum, mean, m2, batch);
    }
}

// v2 eval: one thread per element.
extern "C" __global__ void batchnorm_forward_v2_eval(float* y, const float* runMean, const float* runVar,
                                                     const float* x, const float* gamma, const float* beta,
                                                     int batch, int channels, int spatial, float eps, int relu) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * spatial) return;
    int c = (i / spatial) % channels;
    y[i] = bn_affine(x[i], runMean[c], bn_inv_std(runVar[c], eps), gamma[c], beta[c], relu);
}

// v3 partial: (count, mean, M2) of chunk blockIdx.y into part[(c·chunks + k)·3 + {0,1,2}]. spatial > 1:
// block = one channel (blockIdx.x); spatial == 1: block = 32 channels × 8 row groups, so reads coalesce.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_forward_v3_partial(float* part, const float* x, int batch, int channels, int spatial, int chunks, int chunkLen) {
    __shared__ float scratch[RED_THREADS];
    const int n = batch * spatial;
    const int k = blockIdx.y;
    const int j0 = k * chunkLen, j1 = min(n, j0 + chunkLen);
    if (spatial > 1) {
        const int c = blockIdx.x;
        float s = 0.f;
        for (int j = j0 + threadIdx.x; j < j1; j += RED_THREADS) s += x[bn_index(j, c, channels, spatial)];
        const float cnt = (float) (j1 - j0), mean = block_sum(s, scratch) / cnt;
        float s2 = 0.f;
        for (int j = j0 + threadIdx.x; j < j1; j += RED_THREADS) { float d = x[bn_index(j, c, channels, spatial)] - mean; s2 = FMA(d, d, s2); }
        const float m2 = block_sum(s2, scratch);
        if (threadIdx.x == 0) { float* o = part + ((long long) c * chunks + k) * 3; o[0] = cnt; o[1] = mean; o[2] = m2; }
    } else {
        float (*cs)[BN_COLS] = reinterpret_cast<float (*)[BN_COLS]>(scratch);
        const int col = threadIdx.x % BN_COLS, row = threadIdx.x / BN_COLS, c = blockIdx.x * BN_COLS + col;
        const bool live = c < channels;
        float s = 0.f;
        if (live) for (int b = j0 + row; b < j1; b += BN_ROWS) s += x[b * channels + c];
        const float cnt = (float) (j1 - j0), mean = column_sum(s, cs) / cnt;
        float s2 = 0.f;
        if (live) for (int b = j0 + row; b < j1; b += BN_ROWS) { float d = x[b * channels + c] - mean; s2 = FMA(d, d, s2); }
        const float m2 = column_sum(s2, cs);
        if (live && row == 0) { float* o = part + ((long long) c * chunks + k) * 3; o[0] = cnt; o[1] = mean; o[2] = m2; }
    }
}

// v3 combine: one thread per channel merges the chunks in order (Chan et al.'s pairwise mean/M2 update,
// no E[x²]−mean² cancellation), saves mean and invStd, updates the running statistics.
extern "C" __global__ void batchnorm_forward_v3_combine(float* saveMean, float* saveInvStd, float* runMean, float* runVar,
                                                        const float* part, int channels, int chunks, float momentum, float eps) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    const float* p = part + (long long) c * chunks * 3;
    float n = p[0], mean = p[1], m2 = p[2];
    for (int k = 1; k < chunks; k++) {
        float nb = p[3 * k], mb = p[3 * k + 1], m2b = p[3 * k + 2];
        float tot = n + nb, d = mb - mean;
        mean = FMA(d, nb / tot, mean);
        m2 += FMA(d * d, n * nb / tot, m2b);
        n = tot;
    }
    float var = m2 / n, inv = bn_inv_std(var, eps);
    saveMean[c] = mean;
    saveInvStd[c] = inv;
    bn_update_running(runMean, runVar, c, momentum, mean, m2, (int) n);
}

// v3 apply: y = gamma·(x − mean)·invStd + beta (+ReLU), one thread per element.
extern "C" __global__ void batchnorm_forward_v3_apply(float* y, const float* x, const float* saveMean, const float* saveInvStd,
                                                      const float* gamma, const float* beta, int batch, int channels,
                                                      int spatial, int relu) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * spatial) return;
    int c = (i / spatial) % channels;
    y[i] = bn_affine(x[i], saveMean[c], saveInvStd[c], gamma[c], beta[c], relu);
}
