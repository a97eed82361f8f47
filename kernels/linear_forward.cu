// linear_forward for CUDA: y = x·Wᵀ + b, then ReLU. Versions (kernels/cuda/README.md):
//   v1 linear_forward, linear_forward_direct   the portable body (linear_forward.cl, pocl-tested), 1-D launch
//   v2 linear_forward_v2                       64×64 tiles, 4×4 per thread: many blocks for small and mid-size products
//   v3 linear_forward_v3                       128×128 tiles, 8×8 per thread, float4 smem reads, next tile prefetched:
//                                              large products
// v2/v3: grid (ceil(out/T), ceil(batch/T)), 256 threads, b may be null.
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "linear_forward.cl"
#include "cuda/gemm_tiles.cuh"

struct LinFwdA { const float* x; int in; __device__ float operator()(int m, int k) const { return x[(long long) m * in + k]; } };
struct LinFwdB { const float* w; int in; __device__ float operator()(int k, int n) const { return w[(long long) n * in + k]; } };
struct LinFwdSt {
    float* y; const float* b; int out; int relu;
    __device__ void operator()(int m, int n, float v) const {
        if (b) v += b[n];
        if (relu) v = v > 0.f ? v : 0.f;
        y[(long long) m * out + n] = v;
    }
};

template <int T> __device__ __forceinline__ void
linear_forward_tiled(float* y, const float* x, const float* w, const float* b, int batch, int in, int out, int relu) {
    gemm<T, true, false>(LinFwdA{x, in}, LinFwdB{w, in}, LinFwdSt{y, b, out, relu}, batch, out, 0, in);
}

#define LIN_FWD_PARAMS (float* y, const float* x, const float* w, const float* b, int batch, int in, int out, int relu)
#define LIN_FWD_ARGS (y, x, w, b, batch, in, out, relu)
// v2: 64-tiles (more blocks: the choice below the host's size threshold)
GEMM_KERNEL linear_forward_v2 LIN_FWD_PARAMS { linear_forward_tiled<64> LIN_FWD_ARGS; }
// v3: 128-tiles (twice the outputs per thread, half the shared-memory traffic per FMA: large products)
GEMM_KERNEL linear_forward_v3 LIN_FWD_PARAMS { linear_forward_tiled<128> LIN_FWD_ARGS; }
