// step_replay for CUDA: the bookkeeping around a replayed training step. Versions (kernels/cuda/README.md):
//   v1 step_guard, apply_update_guarded, stats_accumulate
//                  the portable body (step_replay.cl, pocl-tested): the OpenCL replay queue's, halt state
//                  in an int {halted, halt_step} and a float halt_loss
//   v2 step_replay_v2_advance, step_replay_v2_guard, step_replay_v2_accumulate
//                  the CUDA graph's: the step scalars walk a host-prepared table on the device and the
//                  halt state lives in the graph's StepScalars (apply_update_v2 reads it)
// Both guards apply the same rule (common/step_guard.h).
#include "cuda/emulate.cuh"
#include "common/vendor_cuda.h"
#include "step_replay.cl"
#include "cuda/graph.cuh"

// v2 advance, first node of a captured step: current ← table[*counter] (the planned fields only; the
// halt fields persist), then the counter advances: no per-step host work. 1 thread.
extern "C" __global__ void step_replay_v2_advance(StepScalars* current, const PlannedStep* table, int* counter) {
    if (threadIdx.x == 0 && blockIdx.x == 0) {
        int i = *counter;
        PlannedStep p = table[i];
        current->start = p.start;
        current->step = p.step;
        current->firstStep = p.firstStep;
        current->lr = p.lr;
        *counter = i + 1;
    }
}

// v2 guard, between the loss and the backward: the Trainer's divergence rule on the device. A halted
// run's apply_update_v2 and step_replay_v2_accumulate do nothing, in this replay and every later one.
extern "C" __global__ void step_replay_v2_guard(StepScalars* current, const float* stats, int batch, float boundFloor) {
    if (threadIdx.x == 0 && blockIdx.x == 0)
        step_guard_apply(&current->halted, &current->haltStep, &current->haltLoss, stats[0], batch, boundFloor, current->step);
}

// v2 accumulate, last node: acc[j] += stats[j] unless the run has halted (current may be null).
extern "C" __global__ void step_replay_v2_accumulate(float* acc, const float* stats, int n, const StepScalars* current) {
    if (current && current->halted) return;
    int j = threadIdx.x;
    if (j < n) acc[j] += stats[j];
}
