/*
 * vendor_cuda.h — maps the project's kernel dialect (documented in vendor_cl.h) onto CUDA C++.
 * A kernels/<op>.cu file is:   #include "common/vendor_cuda.h"
 *                              #include "<op>.cl"
 * Compile with -fmad=false (no implicit contraction, as OpenCL's FP_CONTRACT OFF and Java; FMA(a,b,c) is
 * the explicit fused form) and nvcc's default IEEE division and sqrt (-prec-div=true -prec-sqrt=true).
 * The CUDA module kernels/cuda/asymbp_ops.cu includes it too, for the shared helpers in common/
 * (philox.h, elementwise.h); it builds with -fmad=true and includes emulate.cuh first, which maps the
 * few CUDA names used here (__umulhi, __global__, ...) onto host C++ for the CPU check in kernels/cuda/test/.
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
