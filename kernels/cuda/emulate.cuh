// Under nvcc this header is empty. Compiled by a host C++ compiler (kernels/cuda/test/), it maps the
// few CUDA features the kernels use onto threads, so kernel logic can be checked on a machine without
// a GPU: each block runs its threads as std::threads with a barrier for __syncthreads, blocks one after
// another, so `static` is a faithful stand-in for __shared__.
#pragma once
#ifndef __CUDACC__
#include <barrier>
#include <cmath>
#include <cstring>
#include <cstdint>
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(n)
#define __shared__ static
struct emu_dim3 { unsigned x = 1, y = 1, z = 1; };
extern thread_local emu_dim3 threadIdx, blockIdx;
extern emu_dim3 blockDim, gridDim;
extern std::barrier<>* emu_barrier;
inline void __syncthreads() { emu_barrier->arrive_and_wait(); }
// A shuffle among the 32 lanes of a warp, emulated block-wide: every thread of the block must call it
// together (block_sum's warp_sum does). Out-of-warp sources return the caller's own value, as on a GPU.
extern float emu_shfl_buf[1024];
inline float __shfl_down_sync(unsigned, float v, int delta) {
    unsigned t = threadIdx.x, src = t + (unsigned) delta;
    emu_shfl_buf[t] = v;
    __syncthreads();
    float r = ((src >> 5) == (t >> 5) && src < blockDim.x) ? emu_shfl_buf[src] : v;
    __syncthreads();
    return r;
}
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned) (((unsigned long long) a * b) >> 32); }
inline float __int_as_float(int v) { float f; std::memcpy(&f, &v, 4); return f; }
inline int min(int a, int b) { return a < b ? a : b; }
// CUDA's sqrt on a float is the float function; without this, host C++ would take ::sqrt(double) and the
// portable bodies' 1.0f / sqrt(v) would divide in double.
inline float sqrt(float x) { return std::sqrt(x); }
inline long long min(long long a, long long b) { return a < b ? a : b; }
#endif
