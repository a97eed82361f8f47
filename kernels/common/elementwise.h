/*
 * elementwise.h — per-element rules written once for every version of every op: the portable bodies
 * (kernels/<op>.cl: OpenCL, and version 1 on CUDA) and the CUDA-tuned versions in kernels/<op>.cu.
 * Callers keep their own indexing, launch geometry and (CUDA) device-side step scalars and halt checks;
 * the helpers take values, or pointers already at the element, so an int or a 64-bit index works alike.
 *
 * Rounding: plain a*b+c, never contracted (OpenCL FP_CONTRACT OFF, nvcc --fmad=false for every .cu), so
 * every version matches Java bit for bit here.
 */
#ifndef ASYMBP_ELEMENTWISE_H
#define ASYMBP_ELEMENTWISE_H

#include "common/philox.h"

/* docs/spec.md §4 for one parameter (the three pointers at it): d = g (rule 0, sgd) or sign(g) (rule 1, bm;
   sign(0) = 0), plus λθ; v ← d on the first step, else μ·v + d; θ ← θ − η·v. The old velocity is
   read only when it is used. */
DEVICE_FN void update_param(GLOBAL float* theta, GLOBAL float* velocity, GLOBAL const float* grad,
                            int rule, float lr, float momentum, float weight_decay, int first_step) {
    const float g = *grad, th = *theta;
    const float d = (rule == 1 ? sign0(g) : g) + weight_decay * th;
    const float v = first_step ? d : momentum * *velocity + d;
    *velocity = v;
    *theta = th - lr * v;
}

/* gather_standardize for one pixel byte of channel c: (px / 255 − mean[c]) · invStd[c], where
   mean_inv_std holds the C means, then the C inverse standard deviations. */
DEVICE_FN float standardize_pixel(uchar px, GLOBAL const float* mean_inv_std, int c, int channels) {
    return ((float) px / 255.0f - mean_inv_std[c]) * mean_inv_std[channels + c];
}

/* Max pooling, k×k windows with stride k, no padding, planes of h×w, (h/k)×(w/k) outputs per plane:
   the maximum of output o's window, the first in row-major window order on ties (strict >); its flat
   index into x goes to *at. */
DEVICE_FN float maxpool_window(GLOBAL const float* x, int o, int h, int w, int k, int* at) {
    const int oh = h / k, ow = w / k;
    const int ox = o % ow, t = o / ow, oy = t % oh, plane = t / oh;
    const int base = plane * h * w;
    int best = base + (oy * k) * w + ox * k;
    float bestV = x[best];
    for (int dy = 0; dy < k; dy++)
        for (int dx = 0; dx < k; dx++) {
            int i = base + (oy * k + dy) * w + ox * k + dx;
            float v = x[i];
            if (v > bestV) { bestV = v; best = i; }
        }
    *at = best;
    return bestV;
}

/* Max pooling's dx at input element i, as a gather: dy of the one window holding i if i is that
   window's argmax, else 0 (also in the rows and columns the floor(h/k)×floor(w/k) windows leave out). */
DEVICE_FN float maxpool_grad(GLOBAL const float* dy, GLOBAL const int* argmax, int i, int h, int w, int k) {
    const int oh = h / k, ow = w / k;
    const int ix = i % w, t = i / w, iy = t % h, plane = t / h;
    const int oy = iy / k, ox = ix / k;
    float v = 0.0f;
    if (oy < oh && ox < ow) {
        int o = (plane * oh + oy) * ow + ox;
        if (argmax[o] == i) v = dy[o];
    }
    return v;
}

/* The first maximum of l[0..n) (strict >): its index, and its value in *mx. softmax_cross_entropy
   subtracts it for stability and counts a row as an error when this index is not the label. */
DEVICE_FN int row_argmax(GLOBAL const float* l, int n, float* mx) {
    int arg = 0;
    float m = l[0];
    for (int j = 1; j < n; j++) if (l[j] > m) { m = l[j]; arg = j; }
    *mx = m;
    return arg;
}

/* Softmax cross-entropy of one row l[0..classes) with label `label`: writes d[j] = (softmax − onehot)_j ·
   inv_batch, where p − 1 at the label is −(Σ_{j≠label} e_j)/sum (no cancellation when p is near 1);
   returns the row's loss log Σ_j e_j − (l_label − max), e_j = exp(l_j − max); *wrong = 1 when the first
   arg max is not the label, else 0. */
DEVICE_FN float softmax_ce_row(GLOBAL float* d, GLOBAL const float* l, int classes, int label, float inv_batch,
                               float* wrong) {
    float mx;
    const int arg = row_argmax(l, classes, &mx);
    float sum = 0.0f, others = 0.0f;
    for (int j = 0; j < classes; j++) {
        float e = EXPF(l[j] - mx);
        sum += e;
        if (j != label) others += e;
    }
    const float inv = 1.0f / sum;
    for (int j = 0; j < classes; j++) {
        float dj = (j == label) ? -(others * inv) : EXPF(l[j] - mx) * inv;
        d[j] = dj * inv_batch;
    }
    *wrong = arg != label ? 1.0f : 0.0f;
    return LOGF(sum) - (l[label] - mx);
}

/* Batch norm's affine map of one element, gamma·((x − mean)·invStd) + beta, then the fused ReLU
   (relu: anything not > 0, NaN included, becomes 0). */
DEVICE_FN float bn_affine(float x, float mean, float inv_std, float gamma, float beta, int relu) {
    float v = gamma * ((x - mean) * inv_std) + beta;
    return (relu && !(v > 0.0f)) ? 0.0f : v;
}

/* Batch norm's dx = gamma·invStd/n · (n·g − dbeta − xhat·dgamma), with k = gamma·invStd/n. */
DEVICE_FN float bn_dx(float g, float xhat, float k, float nf, float dbeta, float dgamma) {
    return k * (nf * g - dbeta - xhat * dgamma);
}

/* A running statistic after one training batch: (1 − momentum)·old + momentum·value. */
DEVICE_FN float bn_running(float old, float momentum, float value) {
    return (1.0f - momentum) * old + momentum * value;
}

/* Flat NCHW index of the j-th of channel c's batch·spatial values. */
DEVICE_FN int bn_index(int j, int c, int channels, int spatial) {
    const int b = j / spatial, q = j - b * spatial;
    return (b * channels + c) * spatial + q;
}

/* Channel c's running statistics after a training batch of n values with mean `mean` and
   m2 = Σ(x − mean)²: the running variance takes the unbiased m2/(n−1) (PyTorch; m2/n when n = 1).
   Every version divides m2 itself, as CpuBackend does, so the running variance rounds alike everywhere. */
DEVICE_FN void bn_update_running(GLOBAL float* run_mean, GLOBAL float* run_var, int c, float momentum,
                                 float mean, float m2, int n) {
    const float unbiased = n > 1 ? m2 / (float) (n - 1) : m2 / (float) n;
    run_mean[c] = bn_running(run_mean[c], momentum, mean);
    run_var[c] = bn_running(run_var[c], momentum, unbiased);
}

#endif
