/*
 * vendor_cuda.h — maps the project's kernel dialect (documented in vendor_cl.h) onto CUDA C++.
 * A kernels/<op>.cu file is:   #include "common/vendor_cuda.h"
 *                              #include "<op>.cl"
 * Compile with nvcc default IEEE division (-prec-div=true); -fmad may stay on (V has no a*b+c).
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
#define EXPF(x) expf(x)
#define LOGF(x) logf(x)

#endif
