// softmax_cross_entropy for CUDA: dlogits = (softmax − onehot)/batch, stats = {Σ loss, Σ wrong}. Versions
// (kernels/cuda/README.md):
//   v1 softmax_cross_entropy      the portable body (softmax_cross_entropy.cl, pocl-tested): tree sums, 9 barriers each
//   v2 softmax_cross_entropy_v2   the same rows, warp-shuffle block sums (2 barriers each)
// Both: 1 block of 256 threads; thread t handles rows t, t+256, ...; fixed-order sums.
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "softmax_cross_entropy.cl"
#include "cuda/reduce.cuh"

// v2: warp-shuffle block sums
extern "C" __global__ void __launch_bounds__(RED_THREADS)
softmax_cross_entropy_v2(float* dlogits, float* stats, const float* logits, const int* labels, int batch, int classes) {
    __shared__ float scratch[RED_THREADS];
    float loss = 0.f, wrong = 0.f;
    const float invB = 1.0f / (float) batch;
    for (int b = threadIdx.x; b < batch; b += RED_THREADS) {
        float w;
        loss += softmax_ce_row(dlogits + (long long) b * classes, logits + (long long) b * classes, classes, labels[b],
                               invB, &w);
        wrong += w;
    }
    loss = block_sum(loss, scratch);
    wrong = block_sum(wrong, scratch);
    if (threadIdx.x == 0) { stats[0] = loss; stats[1] = wrong; }
}
