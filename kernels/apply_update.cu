// apply_update for CUDA: docs/spec.md §4 over a flat parameter buffer. Versions (kernels/cuda/README.md):
//   v1 apply_update      the portable body (apply_update.cl, pocl-tested), 32-bit n
//   v2 apply_update_v2   lr and the first-step flag from the graph's `dyn` when non-null, nothing once the
//                        run halted (a replayed CUDA graph updates with no host work); 64-bit n
// Both: one thread per parameter, blocks of 256; the same per-element rule (common/elementwise.h).
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "apply_update.cl"
#include "cuda/graph.cuh"

// v2: step scalars from dyn, halt-aware
extern "C" __global__ void apply_update_v2(float* params, float* velocity, const float* grads, long long n, int rule,
                                           float lr, float momentum, float weightDecay, int firstStep,
                                           const StepScalars* dyn) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    if (dyn) {
        if (dyn->halted) return; // the step's loss diverged: the Trainer skips the update
        lr = dyn->lr;
        firstStep = dyn->firstStep;
    }
    update_param(params + i, velocity + i, grads + i, rule, lr, momentum, weightDecay, firstStep);
}
