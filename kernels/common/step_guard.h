/*
 * step_guard.h — the Trainer's divergence rule on the device, for steps the host does not read back
 * one by one (CUDA graph replays, the OpenCL replay queue). The host rule is: the batch's mean loss
 * stats[0] / batch (a float division) that is NaN, ±Inf or above the bound halts the run before the
 * update, and nothing later updates. The bound arrives as `bound_floor`, the largest float not above
 * the host's double bound (StepReplay.boundFloor), so the float comparison here is the host's
 * float-vs-double one exactly.
 */
#ifndef ASYMBP_STEP_GUARD_H
#define ASYMBP_STEP_GUARD_H

/* loss - loss is 0 exactly when loss is finite (NaN and ±Inf give NaN): isfinite without a built-in. */
DEVICE_FN int loss_diverged(float loss, float bound_floor) {
    return !(loss - loss == 0.0f && loss <= bound_floor);
}

/* One thread: the first diverged step sets the sticky flag and records the step and its mean loss. */
DEVICE_FN void step_guard_apply(GLOBAL int* halted, GLOBAL int* halt_step, GLOBAL float* halt_loss,
                                float loss_sum, int batch, float bound_floor, int step) {
    if (*halted) return;
    const float loss = loss_sum / (float) batch;
    if (loss_diverged(loss, bound_floor)) {
        *halted = 1;
        *halt_step = step;
        *halt_loss = loss;
    }
}

#endif
