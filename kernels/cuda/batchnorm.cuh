// batchnorm.cuh — helpers of the CUDA-tuned batch norm versions (batchnorm_forward.cu, batchnorm_backward.cu).
#ifndef ASYMBP_CUDA_BATCHNORM_CUH
#define ASYMBP_CUDA_BATCHNORM_CUH

#include "cuda/reduce.cuh"

__device__ __forceinline__ float bn_inv_std(float var, float eps) { return 1.0f / sqrtf(var + eps); }

#endif
