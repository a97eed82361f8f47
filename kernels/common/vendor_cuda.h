/*
 * vendor_cuda.h — maps the project's kernel dialect (documented in vendor_cl.h) onto CUDA C++.
 * A kernels/<op>.cu file is:   #include "cuda/emulate.cuh"     (empty under nvcc; host C++ for the CPU check)
 *                              #include "common/vendor_cuda.h"
 *                              #include "<op>.cl"               (version 1)
 *                              the CUDA-tuned versions           (kernels/cuda/README.md)
 * The whole file compiles with -fmad=false (no implicit contraction, as OpenCL's FP_CONTRACT OFF and
 * Java; FMA(a,b,c) / fmaf is the explicit fused form, which the tuned inner loops write out) and nvcc's
 * default IEEE division and sqrt (-prec-div=true -prec-sqrt=true).
 * Buffers: one pointer per buffer, already at the view; an absent nullable buffer is the null pointer.
 */
#ifndef ASYMBP_VENDOR_H
#define ASYMBP_VENDOR_H

typedef unsigned int uint;
typedef unsigned char uchar;
#define U64 unsigned long long

#define KERNEL extern "C" __global__
#define DEVICE_FN static __device__ __forceinline__
#define GLOBAL
#define LOCAL_MEM __shared__
#define LOCAL_PTR
#define RESTRICT __restrict__
#define BARRIER() __syncthreads()

#define BUF(T, p) T* RESTRICT p
#define CBUF(T, p) const T* RESTRICT p
#define OPT_BUF(T, p) T* RESTRICT p
#define OPT_CBUF(T, p) const T* RESTRICT p
#define OFF(p) ((void) 0)
#define OPT_OFF(p) const int has_##p = (p != 0); (void) has_##p

#define GLOBAL_ID() ((int) (blockIdx.x * blockDim.x + threadIdx.x))
#define LOCAL_ID() ((int) threadIdx.x)
#define GROUP_ID() ((int) blockIdx.x)
#define LOCAL_SIZE() ((int) blockDim.x)
#define NUM_GROUPS() ((int) gridDim.x)

#define MULHI_U32(a, b) __umulhi((uint) (a), (uint) (b))
#define FMA(a, b, c) fmaf((float) (a), (float) (b), (float) (c))
#define EXPF(x) expf(x)
#define LOGF(x) logf(x)

#endif
