/*
 * apply_update (SPEC §4) over a flat parameter buffer: d = g + λθ (rule 0, sgd) or sign(g) + λθ
 * (rule 1, bm; sign(0) = 0); v ← d if first_step else μ·v + d; θ ← θ − η·v.
 * Launch: ceil(n / WG) groups of WG.
 */
#include "common/elementwise.h"

KERNEL void apply_update(GLOBAL float* RESTRICT params, int params_off,
                         GLOBAL float* RESTRICT velocity, int velocity_off,
                         GLOBAL const float* RESTRICT grads, int grads_off,
                         int n, int rule, float lr, float momentum, float weight_decay, int first_step) {
    params += params_off; velocity += velocity_off; grads += grads_off;
    const int i = GLOBAL_ID();
    if (i >= n) return;
    update_param(params + i, velocity + i, grads + i, rule, lr, momentum, weight_decay, first_step);
}
