// batchnorm_forward for CUDA: the portable body (kernels/batchnorm_forward.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "batchnorm_forward.cl"
