// graph.cuh — what the CUDA-tuned versions (kernels/<op>.cu, v2 and up) share besides tiles and sums:
// the CUDA graph's device-resident step scalars, the feedback bundle the GEMM loaders carry, and the
// ReLU-masked gradient with a nullable y. CUDA C++ (templates, structs); include after vendor_cuda.h.
//
// Step-dependent scalars (the batch start, brsf's Philox step, the first-step flag, the learning rate)
// come by value, or from device memory when `dyn` is non-null: a captured CUDA graph is then replayed
// with new values written into that memory (asymbp.cuda.GraphStep).
#ifndef ASYMBP_CUDA_GRAPH_CUH
#define ASYMBP_CUDA_GRAPH_CUH

#include "common/philox.h"

// The first four fields come from the host's plan (one PlannedStep per replay); the halt fields are
// written on the device by step_replay_v2_guard and stay set for every later replay (divergence is final).
struct PlannedStep { int start; int step; int firstStep; float lr; };
struct StepScalars { int start; int step; int firstStep; float lr; int halted; int haltStep; float haltLoss; int pad; };

// Everything needed to regenerate V for one weight layer at one step (asymbp.backend.Feedback),
// bundled so the GEMM loaders carry one value; fb_v is philox.h's feedback_v, the one definition.
struct FeedbackArgs {
    int mode; float scale; float p; float sigma; int flags;
    unsigned seedLo; unsigned seedHi; int layer; int step;
};

__device__ __forceinline__ float fb_v(const FeedbackArgs& f, float w, long long index) {
    return feedback_v(f.mode, f.scale, f.p, f.sigma, f.flags, f.seedLo, f.seedHi, f.layer, f.step, w, (U64) index);
}

// The tuned kernels' feedback parameters: philox.h's nine, then the graph's scalars (step from dyn).
#define FB_CU_PARAMS int mode, float scale, float p, float sigma, int flags, unsigned seedLo, unsigned seedHi, \
                     int layer, int step, const StepScalars* dyn
#define FB_CU_ARGS mode, scale, p, sigma, flags, seedLo, seedHi, layer, step, dyn

__device__ __forceinline__ FeedbackArgs feedback_args(int mode, float scale, float p, float sigma, int flags,
                                                      unsigned seedLo, unsigned seedHi, int layer, int step,
                                                      const StepScalars* dyn) {
    FeedbackArgs f = {mode, scale, p, sigma, flags, seedLo, seedHi, layer, dyn ? dyn->step : step};
    return f;
}

// dy masked by the fused ReLU's output: dy·[y > 0] (y null: dy).
__device__ __forceinline__ float relu_grad(const float* dy, const float* y, long long i) {
    float g = dy[i];
    return y == nullptr ? g : (y[i] > 0.f ? g : 0.f);
}

// V(W) written out once for a step, when a backward product would otherwise regenerate every element
// of V many times (once per tile of the other operand): v[i] = V(w[i], i), one thread per element. The
// buffer is scratch, overwritten at every use; no V outlives its step. linear_backward_v4_materialize
// and conv2d_backward_v4_materialize are this body under two names.
__device__ __forceinline__ void feedback_materialize_body(float* v, const float* w, long long n, FB_CU_PARAMS) {
    long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    FeedbackArgs f = feedback_args(FB_CU_ARGS);
    v[i] = fb_v(f, w[i], i);
}

#endif
