// CUDA kernels for every op of asymbp.backend.Backend, specialised for NVIDIA GPUs (shared-memory
// tiled SGEMM with 4x4 register blocking, implicit-GEMM convolutions, coalesced BN reductions).
// Kernel names are the op names in snake_case; ops that need several launches add a suffix.
// Pointers arrive already offset to their Buffer view, so every index here is view-relative.
// Element-wise and reduction kernels index in 32 bits (every allocation holds < 2^31 elements, as the
// portable dialect requires), so their per-element divisions are cheap 32-bit ones.
//
// Step-dependent scalars (the batch start, brsf's Philox step, the first-step flag, the learning
// rate) come by value, or from device memory when `dyn` is non-null: a captured CUDA graph is then
// replayed with new values written into that memory (asymbp.cuda.GraphStep).
//
// Shared with the portable bodies (kernels/*.cl) through kernels/common/ under vendor_cuda.h's dialect:
// V(W) and Philox (philox.h, the only device copy) and the per-element rules (elementwise.h: the
// update, standardisation, max-pool window scan and gather, the first arg max, batch norm's affine
// map, dx and running statistics). What stays here is structurally different and CUDA-only: the
// 2-D-grid register-blocked GEMMs and implicit-GEMM convolutions (the portable gemm.h tiles differ),
// the BN and loss reductions (block/column sums, split partials), the graph's device-resident
// StepScalars `dyn` and the halt logic (step_guard, apply_update, stats_accumulate,
// step_scalars_advance). This file builds with --fmad=true, so the shared a*b+c rules fuse here as
// they did before sharing, and not in the portable bodies (elementwise.h).
#include "emulate.cuh"
#include "common/vendor_cuda.h"
#include "common/philox.h"
#include "common/elementwise.h"
#include "common/step_guard.h"

// Everything needed to regenerate V for one weight layer at one step (asymbp.backend.Feedback),
// bundled so the GEMM loaders carry one value; fb_v is philox.h's feedback_v, the one definition.
struct FeedbackArgs {
    int mode; float scale; float p; float sigma; int halfNormal;
    unsigned seedLo; unsigned seedHi; int layer; int step;
};

__device__ __forceinline__ float fb_v(const FeedbackArgs& f, float w, long long index) {
    return feedback_v(f.mode, f.scale, f.p, f.sigma, f.halfNormal, f.seedLo, f.seedHi, f.layer, f.step, w, (U64) index);
}

// The first four fields come from the host's plan (one PlannedStep per replay); the halt fields are
// written on the device by step_guard and stay set for every later replay (divergence is final).
struct PlannedStep { int start; int step; int firstStep; float lr; };
struct StepScalars { int start; int step; int firstStep; float lr; int halted; int haltStep; float haltLoss; int pad; };

#define TILE_M 64
#define TILE_N 64
#define TILE_K 16
#define GEMM_THREADS 256

// C[m][n] = sum_{k in [k0,k1)} A(m,k) * B(k,n), then store(m, n, c). A and B are functors; the two
// flags say which index is contiguous in memory so the tile loads coalesce.
template <bool A_K_CONTIG, bool B_N_CONTIG, class LA, class LB, class ST>
__device__ __forceinline__ void gemm_tile(const LA& la, const LB& lb, const ST& st,
                                          int M, int N, int k0, int k1) {
    __shared__ float As[TILE_K][TILE_M + 4];
    __shared__ float Bs[TILE_K][TILE_N + 4];
    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * TILE_M, n0 = blockIdx.x * TILE_N;
    float acc[4][4];
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) acc[i][j] = 0.f;

    for (int kt = k0; kt < k1; kt += TILE_K) {
#pragma unroll
        for (int e = 0; e < 4; e++) {
            int t = tid + GEMM_THREADS * e;
            int mm, kk;
            if (A_K_CONTIG) { kk = t % TILE_K; mm = t / TILE_K; } else { mm = t % TILE_M; kk = t / TILE_M; }
            int m = m0 + mm, k = kt + kk;
            As[kk][mm] = (m < M && k < k1) ? la(m, k) : 0.f;
            int nn;
            if (B_N_CONTIG) { nn = t % TILE_N; kk = t / TILE_N; } else { kk = t % TILE_K; nn = t / TILE_K; }
            int n = n0 + nn;
            k = kt + kk;
            Bs[kk][nn] = (n < N && k < k1) ? lb(k, n) : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TILE_K; kk++) {
            float a[4], b[4];
#pragma unroll
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + 16 * i];
#pragma unroll
            for (int j = 0; j < 4; j++) b[j] = Bs[kk][tx + 16 * j];
#pragma unroll
            for (int i = 0; i < 4; i++)
#pragma unroll
                for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < 4; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int m = m0 + ty + 16 * i, n = n0 + tx + 16 * j;
            if (m < M && n < N) st(m, n, acc[i][j]);
        }
}


// The large-problem variant: 128×128 tiles, k-step 8, 256 threads each computing 8×8 outputs from
// float4 shared-memory reads, the next tile's global loads issued before the current tile's FMAs.
#define T128 128
#define T128_K 8

__device__ __forceinline__ void ld4(const float* p, float* o) {
#ifdef __CUDACC__
    float4 v = *reinterpret_cast<const float4*>(p);
    o[0] = v.x; o[1] = v.y; o[2] = v.z; o[3] = v.w;
#else
    o[0] = p[0]; o[1] = p[1]; o[2] = p[2]; o[3] = p[3];
#endif
}

template <bool A_K_CONTIG, bool B_N_CONTIG, class LA, class LB>
__device__ __forceinline__ void gemm128_fetch(const LA& la, const LB& lb, int M, int N, int m0, int n0, int kt, int k1,
                                              float* ra, float* rb) {
    const int tid = threadIdx.x;
#pragma unroll
    for (int e = 0; e < 4; e++) {
        int t = tid + GEMM_THREADS * e, mm, kk;
        if (A_K_CONTIG) { kk = t % T128_K; mm = t / T128_K; } else { mm = t % T128; kk = t / T128; }
        int m = m0 + mm, k = kt + kk;
        ra[e] = (m < M && k < k1) ? la(m, k) : 0.f;
        int nn;
        if (B_N_CONTIG) { nn = t % T128; kk = t / T128; } else { kk = t % T128_K; nn = t / T128_K; }
        int n = n0 + nn;
        k = kt + kk;
        rb[e] = (n < N && k < k1) ? lb(k, n) : 0.f;
    }
}

template <bool A_K_CONTIG, bool B_N_CONTIG>
__device__ __forceinline__ void gemm128_stash(float (*As)[T128 + 4], float (*Bs)[T128 + 4], const float* ra, const float* rb) {
    const int tid = threadIdx.x;
#pragma unroll
    for (int e = 0; e < 4; e++) {
        int t = tid + GEMM_THREADS * e, mm, kk;
        if (A_K_CONTIG) { kk = t % T128_K; mm = t / T128_K; } else { mm = t % T128; kk = t / T128; }
        As[kk][mm] = ra[e];
        int nn;
        if (B_N_CONTIG) { nn = t % T128; kk = t / T128; } else { kk = t % T128_K; nn = t / T128_K; }
        Bs[kk][nn] = rb[e];
    }
}

template <bool A_K_CONTIG, bool B_N_CONTIG, class LA, class LB, class ST>
__device__ __forceinline__ void gemm_tile128(const LA& la, const LB& lb, const ST& st, int M, int N, int k0, int k1) {
    __shared__ __align__(16) float As[T128_K][T128 + 4];
    __shared__ __align__(16) float Bs[T128_K][T128 + 4];
    const int tid = threadIdx.x, tx = tid % 16, ty = tid / 16;
    const int m0 = blockIdx.y * T128, n0 = blockIdx.x * T128;
    float acc[8][8];
#pragma unroll
    for (int i = 0; i < 8; i++)
#pragma unroll
        for (int j = 0; j < 8; j++) acc[i][j] = 0.f;
    float ra[4], rb[4];
    gemm128_fetch<A_K_CONTIG, B_N_CONTIG>(la, lb, M, N, m0, n0, k0, k1, ra, rb);
    gemm128_stash<A_K_CONTIG, B_N_CONTIG>(As, Bs, ra, rb);
    __syncthreads();
    for (int kt = k0; kt < k1; kt += T128_K) {
        const bool more = kt + T128_K < k1;
        if (more) gemm128_fetch<A_K_CONTIG, B_N_CONTIG>(la, lb, M, N, m0, n0, kt + T128_K, k1, ra, rb);
#pragma unroll
        for (int kk = 0; kk < T128_K; kk++) {
            float a[8], b[8];
            ld4(&As[kk][ty * 4], a);
            ld4(&As[kk][64 + ty * 4], a + 4);
            ld4(&Bs[kk][tx * 4], b);
            ld4(&Bs[kk][64 + tx * 4], b + 4);
#pragma unroll
            for (int i = 0; i < 8; i++)
#pragma unroll
                for (int j = 0; j < 8; j++) acc[i][j] += a[i] * b[j];
        }
        __syncthreads();
        if (more) {
            gemm128_stash<A_K_CONTIG, B_N_CONTIG>(As, Bs, ra, rb);
            __syncthreads();
        }
    }
#pragma unroll
    for (int i = 0; i < 8; i++) {
        int m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
        if (m >= M) continue;
#pragma unroll
        for (int j = 0; j < 8; j++) {
            int n = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
            if (n < N) st(m, n, acc[i][j]);
        }
    }
}

// Tile variant by template argument: 64 (small problems, more blocks) or 128 (large problems).
// The 128 variant runs unbounded (~150 registers, one block per SM, no spills): a 128-register cap
// would spill 32-88 bytes per thread, and nothing here could measure which is faster.
template <int T, bool A_K_CONTIG, bool B_N_CONTIG, class LA, class LB, class ST>
__device__ __forceinline__ void gemm(const LA& la, const LB& lb, const ST& st, int M, int N, int k0, int k1) {
    if (T == 128) gemm_tile128<A_K_CONTIG, B_N_CONTIG>(la, lb, st, M, N, k0, k1);
    else gemm_tile<A_K_CONTIG, B_N_CONTIG>(la, lb, st, M, N, k0, k1);
}

// Every GEMM op comes as <name> (64-tiles) and <name>_t128; the host picks by problem size.
#define GEMM_VARIANTS(name, params, args)                                                              \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) name params { name##_body<64> args; }   \
    extern "C" __global__ void __launch_bounds__(GEMM_THREADS) name##_t128 params { name##_body<128> args; }

// dy masked by the fused ReLU's output: dy * [y > 0] (y null: dy).
__device__ __forceinline__ float masked_grad(const float* dy, const float* y, long long i) {
    float g = dy[i];
    return y == nullptr ? g : (y[i] > 0.f ? g : 0.f);
}

__device__ __forceinline__ FeedbackArgs feedback_args(int mode, float scale, float p, float sigma, int halfNormal,
                                                      unsigned seedLo, unsigned seedHi, int layer, int step,
                                                      const StepScalars* dyn) {
    FeedbackArgs f = {mode, scale, p, sigma, halfNormal, seedLo, seedHi, layer, dyn ? dyn->step : step};
    return f;
}

// ------------------------------------------------------------------------------------------ linear

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

// y = x·Wᵀ + b, ReLU. Grid (ceil(out/T), ceil(batch/T)), 256 threads.
template <int T> __device__ __forceinline__ void
linear_forward_body(float* y, const float* x, const float* w, const float* b, int batch, int in, int out, int relu) {
    gemm<T, true, false>(LinFwdA{x, in}, LinFwdB{w, in}, LinFwdSt{y, b, out, relu}, batch, out, 0, in);
}
GEMM_VARIANTS(linear_forward,
              (float* y, const float* x, const float* w, const float* b, int batch, int in, int out, int relu),
              (y, x, w, b, batch, in, out, relu))

struct GradA { const float* dy; const float* y; int out;
    __device__ float operator()(int m, int k) const { return masked_grad(dy, y, (long long) m * out + k); } };
struct VB { const float* w; int in; FeedbackArgs f;
    __device__ float operator()(int k, int n) const { long long i = (long long) k * in + n; return fb_v(f, w[i], i); } };
struct StoreRowMajor { float* c; int ldc;
    __device__ void operator()(int m, int n, float v) const { c[(long long) m * ldc + n] = v; } };

#define FB_CU_PARAMS int mode, float scale, float p, float sigma, int halfNormal, unsigned seedLo, unsigned seedHi, \
                  int layer, int step, const StepScalars* dyn
#define FB_CU_ARGS mode, scale, p, sigma, halfNormal, seedLo, seedHi, layer, step, dyn

// dx = g·V(W). Grid (ceil(in/T), ceil(batch/T)).
template <int T> __device__ __forceinline__ void
linear_backward_dx_body(float* dx, const float* dy, const float* y, const float* w, int batch, int in, int out, FB_CU_PARAMS) {
    FeedbackArgs f = feedback_args(FB_CU_ARGS);
    gemm<T, true, true>(GradA{dy, y, out}, VB{w, in, f}, StoreRowMajor{dx, in}, batch, in, 0, out);
}
GEMM_VARIANTS(linear_backward_dx,
              (float* dx, const float* dy, const float* y, const float* w, int batch, int in, int out, FB_CU_PARAMS),
              (dx, dy, y, w, batch, in, out, FB_CU_ARGS))

struct GradTA { const float* dy; const float* y; int out;
    __device__ float operator()(int m, int k) const { return masked_grad(dy, y, (long long) k * out + m); } };
struct XB { const float* x; int in;
    __device__ float operator()(int k, int n) const { return x[(long long) k * in + n]; } };

// dW = gᵀ·x. Grid (ceil(in/T), ceil(out/T)).
template <int T> __device__ __forceinline__ void
linear_backward_dw_body(float* dw, const float* dy, const float* y, const float* x, int batch, int in, int out) {
    gemm<T, false, true>(GradTA{dy, y, out}, XB{x, in}, StoreRowMajor{dw, in}, out, in, 0, batch);
}
GEMM_VARIANTS(linear_backward_dw,
              (float* dw, const float* dy, const float* y, const float* x, int batch, int in, int out),
              (dw, dy, y, x, batch, in, out))

// ------------------------------------------------------------------------- per-channel reductions

#define RED_THREADS 256

// Sum of the 32 lanes' values in a fixed shuffle tree (deterministic); lane 0 gets the total.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

// Block-wide sum of one value per thread (RED_THREADS threads), fixed order (deterministic): warps
// reduce with shuffles, then one warp reduces the warp totals; two barriers instead of one per tree
// level. All threads get the result. Every thread of the block must call it (barriers inside).
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    // Every warp reduces the warp totals (only warp 0's result is used), so all lanes take part in
    // every shuffle, as __shfl_down_sync's full mask requires.
    float r = warp_sum(tid < RED_THREADS / 32 ? scratch[lane] : 0.f);
    if (tid == 0) scratch[RED_THREADS / 32] = r;
    __syncthreads();
    // No third barrier: a next call writes scratch[0..7] only after this call's second barrier (their
    // reads are done) and scratch[8] only after its own first barrier (every thread has read it).
    return scratch[RED_THREADS / 32];
}

// db[c] = Σ over batch and space of g, g = dy·[y>0]; x viewed as batch×channels×spatial.
// One block per channel, 256 threads. Used for linear (spatial 1) and convolution biases.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
channel_grad_sum(float* db, const float* dy, const float* y, int batch, int channels, int spatial) {
    __shared__ float scratch[RED_THREADS];
    const int c = blockIdx.x;
    const int n = batch * spatial;
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int b = i / spatial, q = i - b * spatial;
        s += masked_grad(dy, y, (b * channels + c) * spatial + q);
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) db[c] = s;
}

// --------------------------------------------------------------------------------- convolution

struct ConvArgs { int B, C, H, W, OC, KH, KW, stride, pad, OH, OW; };

struct ConvWA { const float* w; int K; __device__ float operator()(int m, int k) const { return w[(long long) m * K + k]; } };
// im2col(x)[k][n]: k = (c, ky, kx), n = (b, oy, ox).
struct Im2colB { const float* x; ConvArgs a;
    __device__ float operator()(int k, int n) const {
        int khw = a.KH * a.KW, ohw = a.OH * a.OW;
        int c = k / khw, r = k - c * khw, ky = r / a.KW, kx = r - ky * a.KW;
        int b = n / ohw, q = n - b * ohw, oy = q / a.OW, ox = q - oy * a.OW;
        int iy = oy * a.stride - a.pad + ky, ix = ox * a.stride - a.pad + kx;
        if (iy < 0 || iy >= a.H || ix < 0 || ix >= a.W) return 0.f;
        return x[(((long long) b * a.C + c) * a.H + iy) * a.W + ix];
    } };
struct ConvFwdSt { float* y; const float* bias; ConvArgs a; int relu;
    __device__ void operator()(int m, int n, float v) const {
        int ohw = a.OH * a.OW, b = n / ohw, q = n - b * ohw;
        if (bias) v += bias[m];
        if (relu) v = v > 0.f ? v : 0.f;
        y[((long long) b * a.OC + m) * ohw + q] = v;
    } };

#define CONV_PARAMS int B, int C, int H, int W, int OC, int KH, int KW, int stride, int pad, int OH, int OW
#define CONV_ARGS ConvArgs{B, C, H, W, OC, KH, KW, stride, pad, OH, OW}

#define CONV_ARG_NAMES B, C, H, W, OC, KH, KW, stride, pad, OH, OW

// Implicit GEMM: M = outC, N = batch·outH·outW, K = inC·kh·kw. Grid (ceil(N/T), ceil(outC/T)).
template <int T> __device__ __forceinline__ void
conv2d_forward_body(float* y, const float* x, const float* w, const float* b, CONV_PARAMS, int relu) {
    ConvArgs a = CONV_ARGS;
    gemm<T, true, true>(ConvWA{w, C * KH * KW}, Im2colB{x, a}, ConvFwdSt{y, b, a, relu}, OC, B * OH * OW, 0, C * KH * KW);
}
GEMM_VARIANTS(conv2d_forward, (float* y, const float* x, const float* w, const float* b, CONV_PARAMS, int relu),
              (y, x, w, b, CONV_ARG_NAMES, relu))

// g as an (oc) × (b, oy, ox) matrix.
struct ConvGradA { const float* dy; const float* y; ConvArgs a;
    __device__ float operator()(int m, int k) const {
        int ohw = a.OH * a.OW, b = k / ohw, q = k - b * ohw;
        return masked_grad(dy, y, ((long long) b * a.OC + m) * ohw + q);
    } };
// im2col(x) transposed: [(b, oy, ox)][(c, ky, kx)].
struct Im2colTB { Im2colB im; __device__ float operator()(int k, int n) const { return im(n, k); } };
struct PartialSt { float* part; int M, N;
    __device__ void operator()(int m, int n, float v) const {
        part[((long long) blockIdx.z * M + m) * N + n] = v;
    } };

// dW split over K' = batch·outH·outW in chunks of kChunk (grid z): partial[z][oc][ckk], summed in
// fixed order by conv2d_backward_dw_reduce, so the result is deterministic.
// Grid (ceil(C·kh·kw/T), ceil(outC/T), splits).
template <int T> __device__ __forceinline__ void
conv2d_backward_dw_body(float* partial, const float* dy, const float* y, const float* x, CONV_PARAMS, int kChunk) {
    ConvArgs a = CONV_ARGS;
    int kTotal = B * OH * OW, k0 = blockIdx.z * kChunk, k1 = min(kTotal, k0 + kChunk);
    int N = C * KH * KW;
    gemm<T, true, false>(ConvGradA{dy, y, a}, Im2colTB{Im2colB{x, a}}, PartialSt{partial, OC, N}, OC, N, k0, k1);
}
GEMM_VARIANTS(conv2d_backward_dw, (float* partial, const float* dy, const float* y, const float* x, CONV_PARAMS, int kChunk),
              (partial, dy, y, x, CONV_ARG_NAMES, kChunk))

// dw[i] = Σ_z partial[z][i], z ascending.
extern "C" __global__ void conv2d_backward_dw_reduce(float* dw, const float* partial, int n, int splits) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float s = 0.f;
    for (int z = 0; z < splits; z++) s += partial[(long long) z * n + i];
    dw[i] = s;
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
        return masked_grad(dy, y, (((long long) b * a.OC + oc) * a.OH + oy) * a.OW + ox);
    } };
struct ConvDxSt { float* dx; ConvArgs a;
    __device__ void operator()(int m, int n, float v) const {
        int hw = a.H * a.W, b = n / hw, q = n - b * hw;
        dx[((long long) b * a.C + m) * hw + q] = v;
    } };

// dx = transposed convolution of g with V(W): M = inC, N = batch·H·W, K = outC·kh·kw.
// Grid (ceil(N/T), ceil(inC/T)).
template <int T> __device__ __forceinline__ void
conv2d_backward_dx_body(float* dx, const float* dy, const float* y, const float* w, CONV_PARAMS, FB_CU_PARAMS) {
    ConvArgs a = CONV_ARGS;
    FeedbackArgs f = feedback_args(FB_CU_ARGS);
    gemm<T, true, true>(ConvVA{w, a, f}, ConvDxB{dy, y, a}, ConvDxSt{dx, a}, C, B * H * W, 0, OC * KH * KW);
}
GEMM_VARIANTS(conv2d_backward_dx, (float* dx, const float* dy, const float* y, const float* w, CONV_PARAMS, FB_CU_PARAMS),
              (dx, dy, y, w, CONV_ARG_NAMES, FB_CU_ARGS))

// V(W) written out once for a step, when a backward product would otherwise regenerate every element
// of V many times (once per tile of the other operand): v[i] = V(w[i], i). One thread per element.
// The buffer is scratch, overwritten at every use; no V outlives its step.
extern "C" __global__ void feedback_materialize(float* v, const float* w, long long n, FB_CU_PARAMS) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    FeedbackArgs f = feedback_args(FB_CU_ARGS);
    v[i] = fb_v(f, w[i], i);
}

// ---------------------------------------------------------------------------------- batch norm
// Two layouts. spatial > 1 (after a convolution): one block per channel, the block walks the
// channel's batch·spatial values (contiguous runs of `spatial`). spatial == 1 (after a linear layer):
// one block per 32 channels, 8 rows of threads, so a warp reads 32 consecutive floats.

__device__ __forceinline__ float bn_inv_std(float var, float eps) { return 1.0f / sqrtf(var + eps); }

extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_forward_nchw(float* y, float* saveMean, float* saveInvStd, float* runMean, float* runVar,
                       const float* x, const float* gamma, const float* beta, int batch, int channels, int spatial,
                       float momentum, float eps, int relu) {
    __shared__ float scratch[RED_THREADS];
    const int c = blockIdx.x;
    const int n = batch * spatial;
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int b = i / spatial, q = i - b * spatial;
        s += x[(b * channels + c) * spatial + q];
    }
    const float mean = block_sum(s, scratch) / (float) n;
    float s2 = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int b = i / spatial, q = i - b * spatial;
        float d = x[(b * channels + c) * spatial + q] - mean;
        s2 += d * d;
    }
    const float var = block_sum(s2, scratch) / (float) n;
    const float inv = bn_inv_std(var, eps);
    const float g = gamma[c], bt = beta[c];
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int b = i / spatial, q = i - b * spatial, j = (b * channels + c) * spatial + q;
        y[j] = bn_affine(x[j], mean, inv, g, bt, relu);
    }
    if (threadIdx.x == 0) {
        saveMean[c] = mean;
        saveInvStd[c] = inv;
        float unbiased = n > 1 ? var * ((float) n / (float) (n - 1)) : var;
        runMean[c] = bn_running(runMean[c], momentum, mean);
        runVar[c] = bn_running(runVar[c], momentum, unbiased);
    }
}

#define BN_COLS 32
#define BN_ROWS 8

// Column-wise sum over rows for the spatial == 1 layout: threads (col = tid%32, row = tid/32).
__device__ __forceinline__ float column_sum(float v, float (*scratch)[BN_COLS]) {
    const int col = threadIdx.x % BN_COLS, row = threadIdx.x / BN_COLS;
    scratch[row][col] = v;
    __syncthreads();
    for (int s = BN_ROWS / 2; s > 0; s >>= 1) {
        if (row < s) scratch[row][col] += scratch[row + s][col];
        __syncthreads();
    }
    float r = scratch[0][col];
    __syncthreads();
    return r;
}

// Grid ceil(channels/32), 256 threads.
extern "C" __global__ void __launch_bounds__(BN_COLS * BN_ROWS)
batchnorm_forward_rows(float* y, float* saveMean, float* saveInvStd, float* runMean, float* runVar,
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
    if (live) for (int b = row; b < batch; b += BN_ROWS) { float d = x[b * channels + c] - mean; s2 += d * d; }
    const float var = column_sum(s2, scratch) / (float) batch;
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
        float unbiased = batch > 1 ? var * ((float) batch / (float) (batch - 1)) : var;
        runMean[c] = bn_running(runMean[c], momentum, mean);
        runVar[c] = bn_running(runVar[c], momentum, unbiased);
    }
}

// Evaluation mode: element-wise with the running estimates. One thread per element.
extern "C" __global__ void batchnorm_forward_eval(float* y, const float* runMean, const float* runVar,
                                                  const float* x, const float* gamma, const float* beta,
                                                  int batch, int channels, int spatial, float eps, int relu) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * spatial) return;
    int c = (i / spatial) % channels;
    y[i] = bn_affine(x[i], runMean[c], bn_inv_std(runVar[c], eps), gamma[c], beta[c], relu);
}

extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_backward_nchw(float* dx, float* dgamma, float* dbeta, const float* dy, const float* y, const float* x,
                        const float* saveMean, const float* saveInvStd, const float* gamma,
                        int batch, int channels, int spatial) {
    __shared__ float scratch[RED_THREADS];
    const int c = blockIdx.x;
    const int n = batch * spatial;
    const float mean = saveMean[c], inv = saveInvStd[c];
    float sg = 0.f, sgx = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int b = i / spatial, q = i - b * spatial, j = (b * channels + c) * spatial + q;
        float g = masked_grad(dy, y, j);
        sg += g;
        sgx += g * ((x[j] - mean) * inv);
    }
    const float db = block_sum(sg, scratch);
    const float dg = block_sum(sgx, scratch);
    const float nf = (float) n, k = gamma[c] * inv / nf;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int b = i / spatial, q = i - b * spatial, j = (b * channels + c) * spatial + q;
        dx[j] = bn_dx(masked_grad(dy, y, j), (x[j] - mean) * inv, k, nf, db, dg);
    }
    if (threadIdx.x == 0) { dgamma[c] = dg; dbeta[c] = db; }
}

extern "C" __global__ void __launch_bounds__(BN_COLS * BN_ROWS)
batchnorm_backward_rows(float* dx, float* dgamma, float* dbeta, const float* dy, const float* y, const float* x,
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
        float g = masked_grad(dy, y, j);
        sg += g;
        sgx += g * ((x[j] - mean) * inv);
    }
    const float db = column_sum(sg, scratch);
    const float dg = column_sum(sgx, scratch);
    if (!live) return;
    const float nf = (float) batch, k = gamma[c] * inv / nf;
    for (int b = row; b < batch; b += BN_ROWS) {
        int j = b * channels + c;
        dx[j] = bn_dx(masked_grad(dy, y, j), (x[j] - mean) * inv, k, nf, db, dg);
    }
    if (row == 0) { dgamma[c] = dg; dbeta[c] = db; }
}

// ---------------------------------------------------------------- batch norm, split over blocks
// When one block per channel (or per 32 channels) would leave most of the GPU idle, each channel's
// batch·spatial values are cut into `chunks` pieces: a partial kernel reduces each piece, a combine
// kernel merges the pieces of a channel in fixed order (Chan et al.'s pairwise mean/M2 update, so the
// variance needs no E[x²]−mean² cancellation), and an element-wise kernel applies the result.
// Partials: part[(c·chunks + k)·3 + {0,1,2}]. Deterministic: no atomics.

// Element j (0 ≤ j < n = batch·spatial) of channel c.
__device__ __forceinline__ int bn_index(int j, int c, int channels, int spatial) {
    int b = j / spatial, q = j - b * spatial;
    return (b * channels + c) * spatial + q;
}

// Forward partials (count, mean, M2) of chunk blockIdx.y. spatial > 1: block = one channel (blockIdx.x).
// spatial == 1: block = 32 channels × 8 row groups, so reads coalesce. 256 threads.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_partial_forward(float* part, const float* x, int batch, int channels, int spatial, int chunks, int chunkLen) {
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
        for (int j = j0 + threadIdx.x; j < j1; j += RED_THREADS) { float d = x[bn_index(j, c, channels, spatial)] - mean; s2 += d * d; }
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
        if (live) for (int b = j0 + row; b < j1; b += BN_ROWS) { float d = x[b * channels + c] - mean; s2 += d * d; }
        const float m2 = column_sum(s2, cs);
        if (live && row == 0) { float* o = part + ((long long) c * chunks + k) * 3; o[0] = cnt; o[1] = mean; o[2] = m2; }
    }
}

// One thread per channel: merge the chunks in order, save mean and invStd, update the running stats.
extern "C" __global__ void batchnorm_combine_forward(float* saveMean, float* saveInvStd, float* runMean, float* runVar,
                                                     const float* part, int channels, int chunks, float momentum, float eps) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    const float* p = part + (long long) c * chunks * 3;
    float n = p[0], mean = p[1], m2 = p[2];
    for (int k = 1; k < chunks; k++) {
        float nb = p[3 * k], mb = p[3 * k + 1], m2b = p[3 * k + 2];
        float tot = n + nb, d = mb - mean;
        mean += d * (nb / tot);
        m2 += m2b + d * d * (n * nb / tot);
        n = tot;
    }
    float var = m2 / n, inv = bn_inv_std(var, eps);
    saveMean[c] = mean;
    saveInvStd[c] = inv;
    float unbiased = n > 1.f ? var * (n / (n - 1.f)) : var;
    runMean[c] = bn_running(runMean[c], momentum, mean);
    runVar[c] = bn_running(runVar[c], momentum, unbiased);
}

// y = gamma·(x − mean)·invStd + beta (+ReLU), one thread per element.
extern "C" __global__ void batchnorm_apply_forward(float* y, const float* x, const float* saveMean, const float* saveInvStd,
                                                   const float* gamma, const float* beta, int batch, int channels,
                                                   int spatial, int relu) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * spatial) return;
    int c = (i / spatial) % channels;
    y[i] = bn_affine(x[i], saveMean[c], saveInvStd[c], gamma[c], beta[c], relu);
}

// Backward partials (Σg, Σg·xhat, unused) of chunk blockIdx.y, same block layouts as the forward.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
batchnorm_partial_backward(float* part, const float* dy, const float* y, const float* x, const float* saveMean,
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
            float g = masked_grad(dy, y, i);
            sg += g;
            sgx += g * ((x[i] - mean) * inv);
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
            float g = masked_grad(dy, y, i);
            sg += g;
            sgx += g * ((x[i] - mean) * inv);
        }
        sg = column_sum(sg, cs);
        sgx = column_sum(sgx, cs);
        if (live && row == 0) { float* o = part + ((long long) c * chunks + k) * 3; o[0] = sg; o[1] = sgx; o[2] = 0.f; }
    }
}

// One thread per channel: dbeta = Σ chunks' Σg, dgamma = Σ chunks' Σg·xhat, in chunk order.
extern "C" __global__ void batchnorm_combine_backward(float* dgamma, float* dbeta, const float* part, int channels, int chunks) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    const float* p = part + (long long) c * chunks * 3;
    float sg = 0.f, sgx = 0.f;
    for (int k = 0; k < chunks; k++) { sg += p[3 * k]; sgx += p[3 * k + 1]; }
    dgamma[c] = sgx;
    dbeta[c] = sg;
}

// dx = gamma·invStd/n · (n·g − dbeta − xhat·dgamma), one thread per element.
extern "C" __global__ void batchnorm_apply_backward(float* dx, const float* dy, const float* y, const float* x,
                                                    const float* saveMean, const float* saveInvStd, const float* gamma,
                                                    const float* dgamma, const float* dbeta, int batch, int channels,
                                                    int spatial) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * spatial) return;
    int c = (i / spatial) % channels;
    const float nf = (float) batch * (float) spatial, inv = saveInvStd[c], k = gamma[c] * inv / nf;
    dx[i] = bn_dx(masked_grad(dy, y, i), (x[i] - saveMean[c]) * inv, k, nf, dbeta[c], dgamma[c]);
}

// ------------------------------------------------------------------------------------- pooling

// One thread per output. Ties: the first maximum in row-major window order.
extern "C" __global__ void maxpool_forward(float* y, int* argmax, const float* x, int batch, int channels,
                                           int h, int w, int k) {
    int oh = h / k, ow = w / k;
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * channels * oh * ow) return;
    int best;
    y[i] = maxpool_window(x, i, h, w, k, &best);
    argmax[i] = best;
}

// One thread per input element: it receives dy of the window it belongs to if it was that window's
// maximum, else 0 (windows do not overlap), so dx is written completely without a separate zeroing.
extern "C" __global__ void maxpool_backward(float* dx, const float* dy, const int* argmax, int batch, int channels,
                                            int h, int w, int k) {
    int j = blockIdx.x * blockDim.x + threadIdx.x;
    if (j >= batch * channels * h * w) return;
    dx[j] = maxpool_grad(dy, argmax, j, h, w, k);
}

// ------------------------------------------------------------------------------ loss and update

// One block of 256 threads; thread t handles rows t, t+256, ... and the block sums in fixed order.
extern "C" __global__ void __launch_bounds__(RED_THREADS)
softmax_cross_entropy(float* dlogits, float* stats, const float* logits, const int* labels, int batch, int classes) {
    __shared__ float scratch[RED_THREADS];
    float loss = 0.f, wrong = 0.f;
    const float invB = 1.0f / (float) batch;
    for (int b = threadIdx.x; b < batch; b += RED_THREADS) {
        float w;
        loss += softmax_ce_row(dlogits + (long long) b * classes, logits + (long long) b * classes, classes, labels[b],
                               invB, &w);
        wrong += w;
    }
    loss = block_sum(loss, scratch);
    wrong = block_sum(wrong, scratch);
    if (threadIdx.x == 0) { stats[0] = loss; stats[1] = wrong; }
}

// One thread per element: x[b][f] = (images[n·features + f]/255 − mean[c])·invStd[c], n = indices[start+b].
extern "C" __global__ void gather_standardize(float* x, int* labelsOut, const unsigned char* images, const int* labels,
                                              const int* indices, const float* meanInvStd, int start, int batch,
                                              int features, int plane, const StepScalars* dyn) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * features) return;
    if (dyn) start = dyn->start;
    int b = i / features, f = i - b * features;
    int channels = features / plane, c = f / plane;
    long long n = indices[start + b];
    x[i] = standardize_pixel(images[n * features + f], meanInvStd, c, channels);
    if (f == 0) labelsOut[b] = labels[n];
}

// SPEC §4, one thread per parameter. rule 0 = sgd, 1 = bm.
extern "C" __global__ void apply_update(float* params, float* velocity, const float* grads, long long n, int rule,
                                        float lr, float momentum, float weightDecay, int firstStep,
                                        const StepScalars* dyn) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (dyn) {
        if (dyn->halted) return; // the step's loss diverged: the Trainer skips the update
        lr = dyn->lr;
        firstStep = dyn->firstStep;
    }
    update_param(params + i, velocity + i, grads + i, rule, lr, momentum, weightDecay, firstStep);
}

// ------------------------------------------------------------------------------ CUDA graph support

// First node of a captured training step: current ← table[*counter] (the planned fields only; the
// halt fields persist), then the counter advances, so a replayed graph walks a host-prepared table of
// step scalars without any per-step host work.
extern "C" __global__ void step_scalars_advance(StepScalars* current, const PlannedStep* table, int* counter) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        int i = *counter;
        PlannedStep p = table[i];
        current->start = p.start;
        current->step = p.step;
        current->firstStep = p.firstStep;
        current->lr = p.lr;
        *counter = i + 1;
    }
}

// Between the loss and the backward of a captured step: the Trainer's divergence rule on the device
// (common/step_guard.h, shared with the OpenCL replay). A halted run's apply_update and
// stats_accumulate do nothing, in this replay and every later one; the host reads which step halted
// and its loss after the replays.
extern "C" __global__ void step_guard(StepScalars* current, const float* stats, int batch, float boundFloor) {
    if (threadIdx.x == 0 && blockIdx.x == 0)
        step_guard_apply(&current->halted, &current->haltStep, &current->haltLoss, stats[0], batch, boundFloor, current->step);
}

// Last node of a captured step: acc[j] += stats[j] unless the run has halted, so replays accumulate
// the loss and error counts of the steps that updated, without a host read per step.
extern "C" __global__ void stats_accumulate(float* acc, const float* stats, int n, const StepScalars* current) {
    if (current && current->halted) return;
    int j = threadIdx.x;
    if (j < n) acc[j] += stats[j];
}
