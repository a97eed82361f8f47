// gemm_tiles.cuh — the CUDA-tuned register-blocked GEMM tiles behind the v2 (64×64) and v3 (128×128)
// versions of linear_forward, linear_backward, conv2d_forward and conv2d_backward (kernels/<op>.cu).
// C[m][n] = Σ_k A(m,k)·B(k,n) over a 2-D grid of tiles (blockIdx.x along N, blockIdx.y along M); A and
// B are functors (the op's loaders: V(W) regenerated there, the ReLU mask applied, im2col), store(m, n,
// c) writes one output. The file builds with --fmad=false (version 1 must round as on OpenCL), so the
// inner products are written as explicit FMA: they stay FFMA, exactly as nvcc's contraction made them.
#ifndef ASYMBP_CUDA_GEMM_TILES_CUH
#define ASYMBP_CUDA_GEMM_TILES_CUH

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
                for (int j = 0; j < 4; j++) acc[i][j] = FMA(a[i], b[j], acc[i][j]);
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
// The prefix of every v2/v3 GEMM kernel: 256 threads (16×16, 4×4 or 8×8 outputs each).
#define GEMM_KERNEL extern "C" __global__ void __launch_bounds__(GEMM_THREADS)

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
                for (int j = 0; j < 8; j++) acc[i][j] = FMA(a[i], b[j], acc[i][j]);
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

// The prefix of every v2/v3 GEMM kernel: 256 threads (16×16, 4×4 or 8×8 outputs each).
#define GEMM_KERNEL extern "C" __global__ void __launch_bounds__(GEMM_THREADS)

#endif
