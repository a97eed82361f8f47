/*
 * vendor_cl.h — maps the project's kernel dialect onto OpenCL C 1.2.
 * (vendor_cuda.h maps the same dialect onto CUDA C++; every kernels/<op>.cl body compiles under both.)
 *
 * THE DIALECT (write kernel bodies only with these, plus plain C99 that OpenCL C 1.2 and CUDA C++ share):
 *
 *   KERNEL                 before a kernel: `KERNEL void linear_forward(...)` (CUDA: extern "C" __global__)
 *   DEVICE_FN              before a helper function (OpenCL: static inline; CUDA: static __device__ __forceinline__)
 *   GLOBAL                 address space of a pointer into device memory (kernel args, helpers' params)
 *   LOCAL_MEM              declares a work-group-shared array AT KERNEL SCOPE: `LOCAL_MEM float t[256];`
 *   LOCAL_PTR              address space of a pointer to such an array (helper parameters)
 *   RESTRICT               after the `*` of a pointer that no other argument aliases
 *   BARRIER()              work-group barrier with a local-memory fence (CUDA: __syncthreads())
 *   GLOBAL_ID()  LOCAL_ID()  GROUP_ID()  LOCAL_SIZE()  NUM_GROUPS()
 *                          dimension 0 only: EVERY kernel is launched 1-D (CUDA: x of blockIdx/threadIdx)
 *   FMA(a, b, c)           fused a*b+c, rounded once (the only place a product and a sum fuse)
 *   MULHI_U32(a, b)        high 32 bits of the 64-bit product of two uint (Philox)
 *   EXPF(x) LOGF(x)        single-precision exp/log (tolerance-checked ops only, never inside V)
 *   min(a, b) on int; sqrt(x) on float (IEEE-rounded under the build flags below)
 *   uint uchar             OpenCL scalar type names (typedef'd for CUDA)
 *   U64                    64-bit unsigned integer (OpenCL ulong; CUDA unsigned long long)
 *
 * BARRIERS. Every BARRIER() must be reached by every thread of every group: never under an if, never
 * after an early return (loops with a trip count uniform over the group are fine). Branch on data
 * around a barrier, not across it (pocl 3.1 silently dropped work-items otherwise).
 *
 * Not allowed in bodies: vector types (float4 ...), OpenCL built-ins other than those above, CUDA
 * intrinsics, templates, `long long`, atomics on floats, the `static` keyword on local arrays, printf.
 *
 * FILES. A body kernels/<op>.cl does NOT include a vendor header (the host prepends vendor_cl.h for
 * OpenCL; <op>.cu includes vendor_cuda.h then the body). Bodies include shared helpers by paths relative
 * to kernels/: `#include "common/philox.h"`. Every header has an include guard; the OpenCL host inlines
 * includes itself (no file-system include path), each file once.
 *
 * BUFFERS AND OFFSETS. Every Buffer (a view into an allocation) is passed as TWO kernel arguments:
 * the base pointer of the allocation and the view's offset in ELEMENTS as an `int`, named `<p>_off`:
 *     KERNEL void k(GLOBAL float* y, int y_off, GLOBAL const float* x, int x_off, ...)
 * and the body starts with `y += y_off; x += x_off;`. (OpenCL cannot offset a cl_mem without a
 * sub-buffer and its alignment rules; CUDA could pass ptr+off, but the same signature keeps the host
 * side identical: pass the device pointer and the offset.) A nullable Buffer that is absent is passed
 * as any valid pointer with offset 0 plus a `has_<p>` int flag of 0. Allocations are < 2^31 elements.
 *
 * LAUNCH GEOMETRY. 1-D, work-group size WG = 256 for every kernel; the group count each op needs is
 * written in the comment at the top of its .cl file (the host computes it the same way on both APIs).
 *
 * FEEDBACK MODE CODES (kernel int args): FeedbackMode ordinals, BP 0, USF 1, BRSF 2, FRSF 3, FA 4, PSF 5.
 *
 * FLOATING POINT. No implicit contraction: a*b+c is two roundings, as in Java, so element-wise ops
 * (update, standardise, BN's affine map) can match the CPU backend bit for bit; write FMA(a, b, c) where
 * a fused multiply-add is meant (the matrix-product inner loop). OpenCL: `#pragma OPENCL FP_CONTRACT OFF`
 * below; CUDA: compile with -fmad=false (FMA stays fused through fmaf). Build OpenCL with
 * -cl-fp32-correctly-rounded-divide-sqrt (CUDA divides and takes sqrt IEEE-rounded by default).
 * V regeneration (philox.h) contains no contractable a*b+c and uses only exact integer ops, int->float
 * conversion (round to nearest even on all three) and products, so V matches Java bit for bit.
 *
 * VARIANTS. Besides the kernel named after its op, a file may hold suffixed variants and the op may take
 * int flags that pick a path inside one kernel; the host (OpenClBackend) chooses, with the thresholds
 * named there:
 *   linear_forward_direct, linear_backward_dw_direct, linear_backward_dx_direct: barrier-free or
 *     nearly so, for CPU devices (pocl), where the 64×64 local-memory tiles run several times slower;
 *   conv2d_forward `direct`, conv2d_backward `dw_direct` / `dx_direct`: few channels (LeNet) — W or V
 *     once per group in local memory, one pixel per thread; conv2d_backward splits long weight-gradient
 *     reductions (`split_r`) and sums the chunks with conv2d_backward_reduce, in order.
 * The plain kernels are correct for every shape on every device; the variants only go faster.
 */
#ifndef ASYMBP_VENDOR_H
#define ASYMBP_VENDOR_H

#pragma OPENCL FP_CONTRACT OFF

#define KERNEL __kernel
#define DEVICE_FN static inline
#define GLOBAL __global
#define LOCAL_MEM __local
#define LOCAL_PTR __local
#define U64 ulong
#define RESTRICT restrict
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE)

#define GLOBAL_ID() ((int) get_global_id(0))
#define LOCAL_ID() ((int) get_local_id(0))
#define GROUP_ID() ((int) get_group_id(0))
#define LOCAL_SIZE() ((int) get_local_size(0))
#define NUM_GROUPS() ((int) get_num_groups(0))

#define MULHI_U32(a, b) mul_hi((uint) (a), (uint) (b))
#define FMA(a, b, c) fma((float) (a), (float) (b), (float) (c))
#define EXPF(x) exp(x)
#define LOGF(x) log(x)

#endif
