// linear_backward for CUDA: the portable body (kernels/linear_backward.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "linear_backward.cl"
