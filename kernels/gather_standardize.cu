// gather_standardize for CUDA: the batch's images gathered by index, standardised per channel, labels
// gathered. Versions (kernels/cuda/README.md):
//   v1 gather_standardize      the portable body (gather_standardize.cl, pocl-tested)
//   v2 gather_standardize_v2   the batch start from the graph's `dyn` when non-null (a replayed CUDA graph
//                              gathers the next batch with no host work); 64-bit image offsets
// Both: one thread per element, ceil(batch·features / 256) blocks of 256.
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "gather_standardize.cl"
#include "cuda/graph.cuh"

// v2: x[b][f] = (images[n·features + f]/255 − mean[c])·invStd[c], n = indices[start + b], start from dyn
extern "C" __global__ void gather_standardize_v2(float* x, int* labelsOut, const unsigned char* images, const int* labels,
                                                 const int* indices, const float* meanInvStd, int start, int batch,
                                                 int features, int plane, const StepScalars* dyn) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= batch * features) return;
    if (dyn) start = dyn->start;
    int b = i / features, f = i - b * features;
    int channels = features / plane, c = f / plane;
    long long n = indices[start + b];
    x[i] = standardize_pixel(images[n * features + f], meanInvStd, c, channels);
    if (f == 0) labelsOut[b] = labels[n];
}
