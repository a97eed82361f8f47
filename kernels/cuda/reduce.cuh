// reduce.cuh — the CUDA-tuned versions' deterministic block reductions (fixed order, no atomics):
// warp-shuffle block sums, the column sums of the 32-channel BN layout, and the per-channel gradient sum
// behind linear_backward_v2_db and conv2d_backward_v2_db. Every thread of a block must call a sum
// (barriers inside).
#ifndef ASYMBP_CUDA_REDUCE_CUH
#define ASYMBP_CUDA_REDUCE_CUH

#include "cuda/graph.cuh"

#define RED_THREADS 256

// Sum of the 32 lanes' values in a fixed shuffle tree (deterministic); lane 0 gets the total.
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
    return v;
}

// Block-wide sum of one value per thread (RED_THREADS threads), fixed order (deterministic): warps
// reduce with shuffles, then one warp reduces the warp totals; two barriers instead of one per tree
// level. All threads get the result.
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

// The BN layout for spatial == 1 (after a linear layer): a block is 32 channels × 8 rows of threads,
// so a warp reads 32 consecutive floats.
#define BN_COLS 32
#define BN_ROWS 8

// Column-wise sum over rows for that layout: threads (col = tid%32, row = tid/32).
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

// db[c] = Σ over batch and space of g, g = dy·[y>0] (y null: dy); dy viewed as batch×channels×spatial.
// One block per channel, RED_THREADS threads; linear layers pass spatial 1.
__device__ __forceinline__ void channel_grad_sum_body(float* db, const float* dy, const float* y, int batch,
                                                      int channels, int spatial) {
    __shared__ float scratch[RED_THREADS];
    const int c = blockIdx.x;
    const int n = batch * spatial;
    float s = 0.f;
    for (int i = threadIdx.x; i < n; i += RED_THREADS) {
        int b = i / spatial, q = i - b * spatial;
        s += relu_grad(dy, y, (b * channels + c) * spatial + q);
    }
    s = block_sum(s, scratch);
    if (threadIdx.x == 0) db[c] = s;
}

#endif
