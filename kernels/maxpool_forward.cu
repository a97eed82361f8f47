// maxpool_forward for CUDA: the portable body (kernels/maxpool_forward.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "maxpool_forward.cl"
