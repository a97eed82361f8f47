/*
 * batchnorm_forward: x viewed as batch×channels×spatial; per channel c (n = batch·spatial values):
 *   training: mean, biased var (two passes: Σx/n, then Σ(x−mean)²/n), invStd = 1/sqrt(var + eps),
 *             saveMean/saveInvStd written, runMean ← (1−m)·runMean + m·mean,
 *             runVar ← (1−m)·runVar + m·Σ(x−mean)²/(n−1);
 *   eval:     mean = runMean, invStd = 1/sqrt(runVar + eps), nothing else written;
 *   y = gamma·(x − mean)·invStd + beta, then ReLU if relu.
 * Launch: channels groups of WG (one group per channel, deterministic tree sums).
 */
#include "common/reduce.h"
#include "common/elementwise.h"

#define BN_WG 256

KERNEL void batchnorm_forward(BUF(float, y), BUF(float, save_mean), BUF(float, save_inv_std), BUF(float, run_mean),
                              BUF(float, run_var), CBUF(float, x), CBUF(float, gamma), CBUF(float, beta),
                              int batch, int channels, int spatial,
                              int training, float momentum, float eps, int relu) {
    LOCAL_MEM float red[BN_WG];
    OFF(y); OFF(save_mean); OFF(save_inv_std);
    OFF(run_mean); OFF(run_var); OFF(x); OFF(gamma); OFF(beta);
    const int c = GROUP_ID(), lid = LOCAL_ID(), n = batch * spatial;
    /* Barriers only outside branches (pocl needs every barrier reached unconditionally): evaluation
       runs the two sums too, over zero terms. */
    float s = 0.0f;
    if (training)
        for (int e = lid; e < n; e += BN_WG) s += x[bn_index(e, c, channels, spatial)];
    const float batchMean = group_sum(red, s, lid, BN_WG) / (float) n;
    float q = 0.0f;
    if (training)
        for (int e = lid; e < n; e += BN_WG) {
            float d = x[bn_index(e, c, channels, spatial)] - batchMean;
            q += d * d;
        }
    const float m2 = group_sum(red, q, lid, BN_WG), batchVar = m2 / (float) n;
    const float mean = training ? batchMean : run_mean[c];
    const float invStd = 1.0f / sqrt((training ? batchVar : run_var[c]) + eps);
    if (training && lid == 0) {
        save_mean[c] = mean;
        save_inv_std[c] = invStd;
        bn_update_running(run_mean, run_var, c, momentum, mean, m2, n);
    }
    const float g = gamma[c], bt = beta[c];
    for (int e = lid; e < n; e += BN_WG) {
        int i = bn_index(e, c, channels, spatial);
        y[i] = bn_affine(x[i], mean, invStd, g, bt, relu);
    }
}
