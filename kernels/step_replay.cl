/*
 * step_replay — what a replayed training step adds around the ops (asymbp.backend.StepReplay):
 *   step_guard            after the loss: the divergence rule (common/step_guard.h); 1 group
 *   apply_update_guarded  apply_update that does nothing once the run halted; ceil(n / WG) groups
 *   stats_accumulate      acc += stats (loss sum, error count) unless halted; 1 group
 * `state` is I32 {halted, halt_step}; `halt_loss` F32 1.
 */
#include "common/step_guard.h"
#include "common/elementwise.h"

KERNEL void step_guard(BUF(int, state), BUF(float, halt_loss),
                       CBUF(float, stats), int batch, float bound_floor, int step) {
    OFF(state); OFF(halt_loss); OFF(stats);
    if (GLOBAL_ID() == 0) step_guard_apply(state, state + 1, halt_loss, stats[0], batch, bound_floor, step);
}

KERNEL void apply_update_guarded(BUF(float, params), BUF(float, velocity), CBUF(float, grads),
                                 int n, int rule, float lr, float momentum, float weight_decay, int first_step,
                                 CBUF(int, state)) {
    OFF(params); OFF(velocity); OFF(grads); OFF(state);
    const int i = GLOBAL_ID();
    if (i >= n || state[0]) return;
    update_param(params + i, velocity + i, grads + i, rule, lr, momentum, weight_decay, first_step);
}

KERNEL void stats_accumulate(BUF(float, acc), CBUF(float, stats), CBUF(int, state)) {
    OFF(acc); OFF(stats); OFF(state);
    const int j = GLOBAL_ID();
    if (j < 2 && !state[0]) acc[j] += stats[j];
}
