/*
 * step_replay — what a replayed training step adds around the ops (asymbp.backend.StepReplay):
 *   step_guard            after the loss: the divergence rule (common/step_guard.h); 1 group
 *   apply_update_guarded  apply_update that does nothing once the run halted; ceil(n / WG) groups
 *   stats_accumulate      acc += stats (loss sum, error count) unless halted; 1 group
 * `state` is I32 {halted, halt_step}; `halt_loss` F32 1.
 */
#include "common/step_guard.h"
#include "common/elementwise.h"

KERNEL void step_guard(GLOBAL int* state, int state_off, GLOBAL float* halt_loss, int halt_loss_off,
                       GLOBAL const float* RESTRICT stats, int stats_off, int batch, float bound_floor, int step) {
    state += state_off; halt_loss += halt_loss_off; stats += stats_off;
    if (GLOBAL_ID() == 0) step_guard_apply(state, state + 1, halt_loss, stats[0], batch, bound_floor, step);
}

KERNEL void apply_update_guarded(GLOBAL float* RESTRICT params, int params_off,
                                 GLOBAL float* RESTRICT velocity, int velocity_off,
                                 GLOBAL const float* RESTRICT grads, int grads_off,
                                 int n, int rule, float lr, float momentum, float weight_decay, int first_step,
                                 GLOBAL const int* RESTRICT state, int state_off) {
    params += params_off; velocity += velocity_off; grads += grads_off; state += state_off;
    const int i = GLOBAL_ID();
    if (i >= n || state[0]) return;
    update_param(params + i, velocity + i, grads + i, rule, lr, momentum, weight_decay, first_step);
}

KERNEL void stats_accumulate(GLOBAL float* RESTRICT acc, int acc_off, GLOBAL const float* RESTRICT stats, int stats_off,
                             GLOBAL const int* RESTRICT state, int state_off) {
    acc += acc_off; stats += stats_off; state += state_off;
    const int j = GLOBAL_ID();
    if (j < 2 && !state[0]) acc[j] += stats[j];
}
