/*
 * apply_update (SPEC §4) over a flat parameter buffer: d = g + λθ (rule 0, sgd) or sign(g) + λθ
 * (rule 1, bm; sign(0) = 0); v ← d if first_step else μ·v + d; θ ← θ − η·v.
 * Launch: ceil(n / WG) groups of WG.
 */
#include "common/philox.h"

KERNEL void apply_update(GLOBAL float* RESTRICT params, int params_off,
                         GLOBAL float* RESTRICT velocity, int velocity_off,
                         GLOBAL const float* RESTRICT grads, int grads_off,
                         int n, int rule, float lr, float momentum, float weight_decay, int first_step) {
    params += params_off; velocity += velocity_off; grads += grads_off;
    const int i = GLOBAL_ID();
    if (i >= n) return;
    const float g = grads[i], theta = params[i];
    const float d = (rule == 1 ? sign0(g) : g) + weight_decay * theta;
    const float v = first_step ? d : momentum * velocity[i] + d;
    velocity[i] = v;
    params[i] = theta - lr * v;
}
