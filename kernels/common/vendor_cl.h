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
 * BUFFERS (the argument ABI; hashcat's vendor-header style). A body declares each Buffer (a view into an
 * allocation) with one macro and starts with the matching prologue line:
 *     KERNEL void k(BUF(float, y), CBUF(float, x), OPT_CBUF(float, b), int n) { OFF(y); OFF(x); OPT_OFF(b); ...
 *   BUF(T, p)  CBUF(T, p)          a required buffer of T (CBUF: read only)
 *   OPT_BUF(T, p)  OPT_CBUF(T, p)   a nullable buffer; the body tests `has_p` before touching p
 *   OFF(p);  OPT_OFF(p);           the prologue: p at the view's first element (OPT_OFF also defines has_p)
 * OpenCL (this header): BUF is `GLOBAL T* RESTRICT p, int p_off`, the OPT_ forms add `int has_p`, and
 * OFF/OPT_OFF are `p += p_off;`: every buffer is the base cl_mem plus the view's offset in ELEMENTS (OpenCL
 * cannot offset a cl_mem without a sub-buffer and its alignment rules); an absent nullable buffer is any
 * valid cl_mem with offset 0 and has_p = 0. CUDA (vendor_cuda.h): each buffer is ONE pointer, already at
 * the view (the host adds offset·element size), OFF is nothing, and OPT_OFF defines has_p = (p != 0): an
 * absent buffer is the null pointer. So one body serves both argument lists. Allocations are < 2^31
 * elements (32-bit indices).
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
 * int flags that pick a path inside one kernel; the host chooses, with the thresholds named there. All of
 * them are VERSION 1 of the op (kernels/cuda/README.md: kernels/<op>.cu adds the CUDA-tuned versions):
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

#define BUF(T, p) GLOBAL T* RESTRICT p, int p##_off
#define CBUF(T, p) GLOBAL const T* RESTRICT p, int p##_off
#define OPT_BUF(T, p) GLOBAL T* RESTRICT p, int p##_off, int has_##p
#define OPT_CBUF(T, p) GLOBAL const T* RESTRICT p, int p##_off, int has_##p
#define OFF(p) p += p##_off
#define OPT_OFF(p) p += p##_off

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
