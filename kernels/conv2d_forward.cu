// conv2d_forward for CUDA: cross-correlation with zero padding (NCHW), bias, ReLU. Versions
// (kernels/cuda/README.md):
//   v1 conv2d_forward      the portable body (conv2d_forward.cl, pocl-tested), 1-D launch, `direct` flag
//   v2 conv2d_forward_v2   implicit GEMM in 64×64 tiles (M = outC, N = batch·outH·outW, K = inC·kh·kw)
//   v3 conv2d_forward_v3   the same in 128×128 tiles, 8×8 per thread, next tile prefetched (large layers)
// v2/v3: grid (ceil(N/T), ceil(outC/T)), 256 threads, b may be null.
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "conv2d_forward.cl"
#include "cuda/conv_gemm.cuh"

struct ConvWA { const float* w; int K; __device__ float operator()(int m, int k) const { return w[(long long) m * K + k]; } };
struct ConvFwdSt { float* y; const float* bias; ConvArgs a; int relu;
    __device__ void operator()(int m, int n, float v) const {
        int ohw = a.OH * a.OW, b = n / ohw, q = n - b * ohw;
        if (bias) v += bias[m];
        if (relu) v = v > 0.f ? v : 0.f;
        y[((long long) b * a.OC + m) * ohw + q] = v;
    } };

template <int T> __device__ __forceinline__ void
conv2d_forward_tiled(float* y, const float* x, const float* w, const float* b, CONV_PARAMS, int relu) {
    ConvArgs a = CONV_ARGS;
    gemm<T, true, true>(ConvWA{w, C * KH * KW}, Im2colB{x, a}, ConvFwdSt{y, b, a, relu}, OC, B * OH * OW, 0, C * KH * KW);
}

#define CONV_FWD_PARAMS (float* y, const float* x, const float* w, const float* b, CONV_PARAMS, int relu)
#define CONV_FWD_ARGS (y, x, w, b, CONV_ARG_NAMES, relu)
// v2: 64-tiles (more blocks for small layers)
GEMM_KERNEL conv2d_forward_v2 CONV_FWD_PARAMS { conv2d_forward_tiled<64> CONV_FWD_ARGS; }
// v3: 128-tiles (large layers)
GEMM_KERNEL conv2d_forward_v3 CONV_FWD_PARAMS { conv2d_forward_tiled<128> CONV_FWD_ARGS; }
