// conv2d_forward for CUDA: the portable body (kernels/conv2d_forward.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "conv2d_forward.cl"
