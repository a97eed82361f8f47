// softmax_cross_entropy for CUDA: the portable body (kernels/softmax_cross_entropy.cl, proven on pocl in CI) under the CUDA dialect.
#include "common/vendor_cuda.h"
#include "softmax_cross_entropy.cl"
