// linear_forward for CUDA: the portable body (kernels/linear_forward.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "linear_forward.cl"
