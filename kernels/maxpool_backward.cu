// maxpool_backward for CUDA: the portable body (kernels/maxpool_backward.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "maxpool_backward.cl"
