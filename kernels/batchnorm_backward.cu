// batchnorm_backward for CUDA: exact backward of training-mode batch norm (and of the fused ReLU if y
// is given). Versions (kernels/cuda/README.md):
//   v1 batchnorm_backward             the portable body (batchnorm_backward.cl, pocl-tested), one group per channel
//   v2 batchnorm_backward_v2_nchw     one block per channel (spatial > 1), warp-shuffle block sums
//      batchnorm_backward_v2_rows     32 channels per block (spatial == 1), coalesced column sums
//   v3 batchnorm_backward_v3_partial, _v3_combine, _v3_apply
//                                     each channel split into chunks over many blocks (partial Σg and Σg·xhat,
//                                     in-order combine, element-wise dx): few channels × many values
// y may be null (no ReLU). The tuned sums write their multiply-adds as FMA (--fmad=false).
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "batchnorm_backward.cl"
#include "cuda/batchnorm.cuh"

// v2 nchw: grid channels, 256 threads.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_backward_v2_nchw(float* dx, float* dgamma, float* dbeta, const float* dy, const float* y, const float* x,
                           const float* saveMean, const float* saveInvStd, const float* gamma,
                           int batch, int channels, int spatial) {
    __shared__ float scratch[RED_THREADS];
    const int c = blockIdx.x;
    const int n = batch * spatial;
    const float mean = saveMean[c], inv = saveInvStd[c];
    float sg = 0.f, sgx = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int j = bn_index(i, c, channels, spatial);
        float g = relu_grad(dy, y, j);
        sg += g;
        sgx = FMA(g, (x[j] - mean) * inv, sgx);
    }
    const float db = block_sum(sg, scratch);
    const float dg = block_sum(sgx, scratch);
    const float nf = (float) n, k = gamma[c] * inv / nf;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int j = bn_index(i, c, channels, spatial);
        dx[j] = bn_dx(relu_grad(dy, y, j), (x[j] - mean) * inv, k, nf, db, dg);
    }
    if (threadIdx.x == 0) { dgamma[c] = dg; dbeta[c] = db; }
}

// v2 rows: grid ceil(channels/32), 256 threads.
extern "C" __global__ void __launch_bounds__(BN_COLS * BN_ROWS)
batchnorm_backward_v2_rows(float* dx, float* dgamma, float* dbeta, const float* dy, const float* y, const float* x,
                           const float* saveMean, const float* saveInvStd, const float* gamma,
                           int batch, int channels) {
    __shared__ float scratch[BN_ROWS][BN_COLS];
    const int col = threadIdx.x % BN_COLS, row = threadIdx.x / BN_COLS;
    const int c = blockIdx.x * BN_COLS + col;
    const bool live = c < channels;
    const float mean = live ? saveMean[c] : 0.f, inv = live ? saveInvStd[c] : 0.f;
    float sg = 0.f, sgx = 0.f;
    if (live) for (int b = row; b < batch; b += BN_ROWS) {
        int j = b * channels + c;
        float g = relu_grad(dy, y, j);
        sg += g;
        sgx = FMA(g, (x[j] - mean) * inv, sgx);
    }
    const float db = column_sum(sg, scratch);
    const float dg = column_sum(sgx, scratch);
    if (!live) return;
    const float nf = (float) batch, k = gamma[c] * inv / nf;
    for (int b = row; b < batch; b += BN_ROWS) {
        int j = b * channels + c;
        dx[j] = bn_dx(relu_grad(dy, y, j), (x[j] - mean) * inv, k, nf, db, dg);
    }
    if (row == 0) { dgamma[c] = dg; dbeta[c] = db; }
}

// v3 partial: (Σg, Σg·xhat, unused) of chunk blockIdx.y into part[(c·chunks + k)·3 + {0,1,2}], the
// block layouts of batchnorm_forward_v3_partial.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_backward_v3_partial(float* part, const float* dy, const float* y, const float* x, const float* saveMean,
                              const float* saveInvStd, int batch, int channels, int spatial, int chunks, int chunkLen) {
    __shared__ float scratch[RED_THREADS];
    const int n = batch * spatial;
    const int k = blockIdx.y;
    const int j0 = k * chunkLen, j1 = min(n, j0 + chunkLen);
    if (spatial > 1) {
        const int c = blockIdx.x;
        const float mean = saveMean[c], inv = saveInvStd[c];
        float sg = 0.f, sgx = 0.f;
        for (int j = j0 + threadIdx.x; j < j1; j += RED_THREADS) {
            int i = bn_index(j, c, channels, spatial);
            float g = relu_grad(dy, y, i);
            sg += g;
            sgx = FMA(g, (x[i] - mean) * inv, sgx);
        }
        sg = block_sum(sg, scratch);
        sgx = block_sum(sgx, scratch);
        if (threadIdx.x == 0) { float* o = part + ((long long) c * chunks + k) * 3; o[0] = sg; o[1] = sgx; o[2] = 0.f; }
    } else {
        float (*cs)[BN_COLS] = reinterpret_cast<float (*)[BN_COLS]>(scratch);
        const int col = threadIdx.x % BN_COLS, row = threadIdx.x / BN_COLS, c = blockIdx.x * BN_COLS + col;
        const bool live = c < channels;
        const float mean = live ? saveMean[c] : 0.f, inv = live ? saveInvStd[c] : 0.f;
        float sg = 0.f, sgx = 0.f;
        if (live) for (int b = j0 + row; b < j1; b += BN_ROWS) {
            int i = b * channels + c;
            float g = relu_grad(dy, y, i);
            sg += g;
            sgx = FMA(g, (x[i] - mean) * inv, sgx);
        }
        sg = column_sum(sg, cs);
        sgx = column_sum(sgx, cs);
        if (live && row == 0) { float* o = part + ((long long) c * chunks + k) * 3; o[0] = sg; o[1] = sgx; o[2] = 0.f; }
    }
}

// v3 combine: one thread per channel, dbeta = Σ chunks' Σg, dgamma = Σ chunks' Σg·xhat, in chunk order.
extern "C" __global__ void batchnorm_backward_v3_combine(float* dgamma, float* dbeta, const float* part, int channels, int chunks) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    const float* p = part + (long long) c * chunks * 3;
    float sg = 0.f, sgx = 0.f;
    for (int k = 0; k < chunks; k++) { sg += p[3 * k]; sgx += p[3 * k + 1]; }
    dgamma[c] = sgx;
    dbeta[c] = sg;
}

// v3 apply: dx = gamma·invStd/n · (n·g − dbeta − xhat·dgamma), one thread per element.
extern "C" __global__ void batchnorm_backward_v3_apply(float* dx, const float* dy, const float* y, const float* x,
                                                       const float* saveMean, const float* saveInvStd, const float* gamma,
                                                       const float* dgamma, const float* dbeta, int batch, int channels,
                                                       int spatial) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * spatial) return;
    int c = (i / spatial) % channels;
    const float nf = (float) batch * (float) spatial, inv = saveInvStd[c], k = gamma[c] * inv / nf;
    dx[i] = bn_dx(relu_grad(dy, y, i), (x[i] - saveMean[c]) * inv, k, nf, dbeta[c], dgamma[c]);
}
