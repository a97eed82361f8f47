// maxpool_backward for CUDA: the portable body (maxpool_backward.cl, pocl-tested) is the only version: a gather with one
// thread per element, nothing for a tuned version to win (kernels/cuda/README.md).
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "maxpool_backward.cl"
