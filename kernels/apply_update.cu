// apply_update for CUDA: the portable body (kernels/apply_update.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "apply_update.cl"
