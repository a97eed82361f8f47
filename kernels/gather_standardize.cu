// gather_standardize for CUDA: the portable body (kernels/gather_standardize.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "gather_standardize.cl"
