// conv2d_backward for CUDA: dx = transposed convolution of g with V(W), dW, db, g = dy·[y > 0]. Versions
// (kernels/cuda/README.md):
//   v1 conv2d_backward, conv2d_backward_reduce
//                          the portable body (conv2d_backward.cl, pocl-tested), 1-D launch, one launch for
//                          all three parts (+ the in-order split-K sum)
//   v2 conv2d_backward_v2_dx, _v2_dw, _v2_reduce, _v2_db
//                          implicit GEMM in 64×64 tiles per product, dW split over batch·outH·outW (grid z)
//                          and summed in order, a warp-shuffle block sum per bias channel
//   v3 conv2d_backward_v3_dx, _v3_dw
//                          128×128 tiles, 8×8 per thread, next tile prefetched (large layers)
//   v4 conv2d_backward_v4_materialize
//                          V(W) written once per step, then v2/v3 dx runs with mode bp on it
// v2/v3: y and dyn may be null; the Philox step comes from dyn when it is non-null (CUDA graphs).
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "conv2d_backward.cl"
#include "cuda/conv_gemm.cuh"
#include "cuda/reduce.cuh"

// g as an (oc) × (b, oy, ox) matrix.
struct ConvGradA { const float* dy; const float* y; ConvArgs a;
    __device__ float operator()(int m, int k) const {
        int ohw = a.OH * a.OW, b = k / ohw, q = k - b * ohw;
        return relu_grad(dy, y, ((long long) b * a.OC + m) * ohw + q);
    } };
// im2col(x) transposed: [(b, oy, ox)][(c, ky, kx)].
struct Im2colTB { Im2colB im; __device__ float operator()(int k, int n) const { return im(n, k); } };
struct PartialSt { float* part; int M, N;
    __device__ void operator()(int m, int n, float v) const {
        part[((long long) blockIdx.z * M + m) * N + n] = v;
    } };

// dW split over K' = batch·outH·outW in chunks of kChunk (grid z): partial[z][oc][ckk], summed in
// fixed order by conv2d_backward_v2_reduce, so the result is deterministic.
// Grid (ceil(C·kh·kw/T), ceil(outC/T), splits).
template <int T> __device__ __forceinline__ void
conv2d_backward_dw_tiled(float* partial, const float* dy, const float* y, const float* x, CONV_PARAMS, int kChunk) {
    ConvArgs a = CONV_ARGS;
    int kTotal = B * OH * OW, k0 = blockIdx.z * kChunk, k1 = min(kTotal, k0 + kChunk);
    int N = C * KH * KW;
    gemm<T, true, false>(ConvGradA{dy, y, a}, Im2colTB{Im2colB{x, a}}, PartialSt{partial, OC, N}, OC, N, k0, k1);
}

// V(W) as an (c) × (oc, ky, kx) matrix: V[oc][c][ky][kx].
struct ConvVA { const float* w; ConvArgs a; FeedbackArgs f;
    __device__ float operator()(int m, int k) const {
        int khw = a.KH * a.KW, oc = k / khw, r = k - oc * khw;
        long long i = ((long long) oc * a.C + m) * khw + r;
        return fb_v(f, w[i], i);
    } };
// g gathered for the transposed convolution: [(oc, ky, kx)][(b, iy, ix)] = g[b][oc][oy][ox] where
// iy = oy·stride − pad + ky, or 0 where no such output exists.
struct ConvDxB { const float* dy; const float* y; ConvArgs a;
    __device__ float operator()(int k, int n) const {
        int khw = a.KH * a.KW, oc = k / khw, r = k - oc * khw, ky = r / a.KW, kx = r - ky * a.KW;
        int hw = a.H * a.W, b = n / hw, q = n - b * hw, iy = q / a.W, ix = q - iy * a.W;
        int ty = iy + a.pad - ky, tx = ix + a.pad - kx;
        if (ty < 0 || tx < 0) return 0.f;
        int oy = ty / a.stride, ox = tx / a.stride;
        if (oy * a.stride != ty || ox * a.stride != tx || oy >= a.OH || ox >= a.OW) return 0.f;
        return relu_grad(dy, y, (((long long) b * a.OC + oc) * a.OH + oy) * a.OW + ox);
    } };
struct ConvDxSt { float* dx; ConvArgs a;
    __device__ void operator()(int m, int n, float v) const {
        int hw = a.H * a.W, b = n / hw, q = n - b * hw;
        dx[((long long) b * a.C + m) * hw + q] = v;
    } };

// dx: M = inC, N = batch·H·W, K = outC·kh·kw. Grid (ceil(N/T), ceil(inC/T)).
template <int T> __device__ __forceinline__ void
conv2d_backward_dx_tiled(float* dx, const float* dy, const float* y, const float* w, CONV_PARAMS, FB_CU_PARAMS) {
    ConvArgs a = CONV_ARGS;
    FeedbackArgs f = feedback_args(FB_CU_ARGS);
    gemm<T, true, true>(ConvVA{w, a, f}, ConvDxB{dy, y, a}, ConvDxSt{dx, a}, C, B * H * W, 0, OC * KH * KW);
}

#define CONV_DX_PARAMS (float* dx, const float* dy, const float* y, const float* w, CONV_PARAMS, FB_CU_PARAMS)
#define CONV_DX_ARGS (dx, dy, y, w, CONV_ARG_NAMES, FB_CU_ARGS)
#define CONV_DW_PARAMS (float* partial, const float* dy, const float* y, const float* x, CONV_PARAMS, int kChunk)
#define CONV_DW_ARGS (partial, dy, y, x, CONV_ARG_NAMES, kChunk)

// v2 dx: 64-tiles, V(W) regenerated in the tile load
GEMM_KERNEL conv2d_backward_v2_dx CONV_DX_PARAMS { conv2d_backward_dx_tiled<64> CONV_DX_ARGS; }
// v2 dW: 64-tiles, one partial dW per chunk of the reduction (spreads a small dW over many blocks)
GEMM_KERNEL conv2d_backward_v2_dw CONV_DW_PARAMS { conv2d_backward_dw_tiled<64> CONV_DW_ARGS; }
// v2 reduce: dw[i] = Σ_z partial[z][i], z ascending (deterministic). One thread per element.
extern "C" __global__ void conv2d_backward_v2_reduce(float* dw, const float* partial, int n, int splits) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float s = 0.f;
    for (int z = 0; z < splits; z++) s += partial[(long long) z * n + i];
    dw[i] = s;
}
// v2 db: one block per output channel, warp-shuffle block sum (grid outC, 256 threads)
extern "C" __global__ void __launch_bounds__(RED_THREADS)
conv2d_backward_v2_db(float* db, const float* dy, const float* y, int batch, int channels, int spatial) {
    channel_grad_sum_body(db, dy, y, batch, channels, spatial);
}
// v3 dx: 128-tiles (large layers)
GEMM_KERNEL conv2d_backward_v3_dx CONV_DX_PARAMS { conv2d_backward_dx_tiled<128> CONV_DX_ARGS; }
// v3 dW: 128-tiles (large layers), same partials as v2
GEMM_KERNEL conv2d_backward_v3_dw CONV_DW_PARAMS { conv2d_backward_dw_tiled<128> CONV_DW_ARGS; }
// v4: V(W) materialised once per step (one thread per element of W)
extern "C" __global__ void conv2d_backward_v4_materialize(float* v, const float* w, long long n, FB_CU_PARAMS) {
    feedback_materialize_body(v, w, n, FB_CU_ARGS);
}
