// step_replay for CUDA: the portable body (kernels/step_replay.cl, proven on pocl in CI) under the CUDA dialect.
// The CUDA module's own step_guard (kernels/cuda/asymbp_ops.cu) calls the same common/step_guard.h.
#include "common/vendor_cuda.h"
#include "step_replay.cl"
