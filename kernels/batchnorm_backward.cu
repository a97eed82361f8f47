// batchnorm_backward for CUDA: the portable body (kernels/batchnorm_backward.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "batchnorm_backward.cl"
