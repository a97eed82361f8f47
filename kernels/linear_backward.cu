// linear_backward for CUDA: dx = g·V(W), dW = gᵀ·x, db = Σ_batch g with g = dy·[y > 0]. Versions
// (kernels/cuda/README.md):
//   v1 linear_backward, linear_backward_dw_direct, linear_backward_dx_direct
//                                  the portable body (linear_backward.cl, pocl-tested), 1-D launch
//   v2 linear_backward_v2_dx, _v2_dw, _v2_db
//                                  64×64 GEMM tiles per product, a warp-shuffle block sum per bias column
//   v3 linear_backward_v3_dx, _v3_dw
//                                  128×128 tiles, 8×8 per thread, next tile prefetched (large products)
//   v4 linear_backward_v4_materialize
//                                  V(W) written once per step, then v2/v3 dx runs with mode bp on it (V is
//                                  otherwise regenerated once per tile of the batch)
// v2/v3: y and dyn may be null; the Philox step comes from dyn when it is non-null (CUDA graphs).
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "linear_backward.cl"
#include "cuda/gemm_tiles.cuh"
#include "cuda/reduce.cuh"

struct GradA { const float* dy; const float* y; int out;
    __device__ float operator()(int m, int k) const { return relu_grad(dy, y, (long long) m * out + k); } };
struct VB { const float* w; int in; FeedbackArgs f;
    __device__ float operator()(int k, int n) const { long long i = (long long) k * in + n; return fb_v(f, w[i], i); } };
struct StoreRowMajor { float* c; int ldc;
    __device__ void operator()(int m, int n, float v) const { c[(long long) m * ldc + n] = v; } };
struct GradTA { const float* dy; const float* y; int out;
    __device__ float operator()(int m, int k) const { return relu_grad(dy, y, (long long) k * out + m); } };
struct XB { const float* x; int in;
    __device__ float operator()(int k, int n) const { return x[(long long) k * in + n]; } };

// dx = g·V(W). Grid (ceil(in/T), ceil(batch/T)).
template <int T> __device__ __forceinline__ void
linear_backward_dx_tiled(float* dx, const float* dy, const float* y, const float* w, int batch, int in, int out, FB_CU_PARAMS) {
    FeedbackArgs f = feedback_args(FB_CU_ARGS);
    gemm<T, true, true>(GradA{dy, y, out}, VB{w, in, f}, StoreRowMajor{dx, in}, batch, in, 0, out);
}

// dW = gᵀ·x. Grid (ceil(in/T), ceil(out/T)).
template <int T> __device__ __forceinline__ void
linear_backward_dw_tiled(float* dw, const float* dy, const float* y, const float* x, int batch, int in, int out) {
    gemm<T, false, true>(GradTA{dy, y, out}, XB{x, in}, StoreRowMajor{dw, in}, out, in, 0, batch);
}

#define LIN_DX_PARAMS (float* dx, const float* dy, const float* y, const float* w, int batch, int in, int out, FB_CU_PARAMS)
#define LIN_DX_ARGS (dx, dy, y, w, batch, in, out, FB_CU_ARGS)
#define LIN_DW_PARAMS (float* dw, const float* dy, const float* y, const float* x, int batch, int in, int out)
#define LIN_DW_ARGS (dw, dy, y, x, batch, in, out)

// v2 dx: 64-tiles, V(W) regenerated in the tile load
GEMM_KERNEL linear_backward_v2_dx LIN_DX_PARAMS { linear_backward_dx_tiled<64> LIN_DX_ARGS; }
// v2 dW: 64-tiles over the batch
GEMM_KERNEL linear_backward_v2_dw LIN_DW_PARAMS { linear_backward_dw_tiled<64> LIN_DW_ARGS; }
// v2 db: one block per output column, warp-shuffle block sum (grid out, 256 threads; spatial 1)
extern "C" __global__ void __launch_bounds__(RED_THREADS)
linear_backward_v2_db(float* db, const float* dy, const float* y, int batch, int channels, int spatial) {
    channel_grad_sum_body(db, dy, y, batch, channels, spatial);
}
// v3 dx: 128-tiles (large products)
GEMM_KERNEL linear_backward_v3_dx LIN_DX_PARAMS { linear_backward_dx_tiled<128> LIN_DX_ARGS; }
// v3 dW: 128-tiles (large products)
GEMM_KERNEL linear_backward_v3_dw LIN_DW_PARAMS { linear_backward_dw_tiled<128> LIN_DW_ARGS; }
// v4: V(W) materialised once per step (one thread per element of W)
extern "C" __global__ void linear_backward_v4_materialize(float* v, const float* w, long long n, FB_CU_PARAMS) {
    feedback_materialize_body(v, w, n, FB_CU_ARGS);
}
