/*
 * apply_update (docs/spec.md §4) over a flat parameter buffer: d = g + λθ (rule 0, sgd) or sign(g) + λθ
 * (rule 1, bm; sign(0) = 0); v ← d if first_step else μ·v + d; θ ← θ − η·v.
 * Launch: ceil(n / WG) groups of WG.
 */
#include "common/elementwise.h"

KERNEL void apply_update(BUF(float, params), BUF(float, velocity), CBUF(float, grads),
                         int n, int rule, float lr, float momentum, float weight_decay, int first_step) {
    OFF(params); OFF(velocity); OFF(grads);
    const int i = GLOBAL_ID();
    if (i >= n) return;
    update_param(params + i, velocity + i, grads + i, rule, lr, momentum, weight_decay, first_step);
}
