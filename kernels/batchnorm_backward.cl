/*
 * batchnorm_backward: exact backward of training-mode batch norm (and of the fused ReLU if has_y).
 * Per channel over n = batch·spatial values: g = dy·[y > 0] (or dy), xhat = (x − saveMean)·saveInvStd,
 *   dbeta = Σ g, dgamma = Σ g·xhat, dx = gamma·invStd/n · (n·g − dbeta − xhat·dgamma).
 * Launch: channels groups of WG (one group per channel, deterministic tree sums).
 */
#include "common/reduce.h"
#include "common/elementwise.h"

#define BNB_WG 256

KERNEL void batchnorm_backward(GLOBAL float* RESTRICT dx, int dx_off,
                               GLOBAL float* RESTRICT dgamma, int dgamma_off,
                               GLOBAL float* RESTRICT dbeta, int dbeta_off,
                               GLOBAL const float* RESTRICT dy, int dy_off,
                               GLOBAL const float* RESTRICT y, int y_off, int has_y,
                               GLOBAL const float* RESTRICT x, int x_off,
                               GLOBAL const float* RESTRICT save_mean, int save_mean_off,
                               GLOBAL const float* RESTRICT save_inv_std, int save_inv_std_off,
                               GLOBAL const float* RESTRICT gamma, int gamma_off,
                               int batch, int channels, int spatial) {
    LOCAL_MEM float red[BNB_WG];
    dx += dx_off; dgamma += dgamma_off; dbeta += dbeta_off; dy += dy_off; y += y_off; x += x_off;
    save_mean += save_mean_off; save_inv_std += save_inv_std_off; gamma += gamma_off;
    const int c = GROUP_ID(), lid = LOCAL_ID(), n = batch * spatial;
    const float mean = save_mean[c], invStd = save_inv_std[c];
    float sg = 0.0f, sgx = 0.0f;
    for (int e = lid; e < n; e += BNB_WG) {
        int b = e / spatial, sp = e - b * spatial, i = (b * channels + c) * spatial + sp;
        float g = (has_y && !(y[i] > 0.0f)) ? 0.0f : dy[i];
        sg += g;
        sgx += g * ((x[i] - mean) * invStd);
    }
    const float db = group_sum(red, sg, lid, BNB_WG);
    const float dg = group_sum(red, sgx, lid, BNB_WG);
    if (lid == 0) { dbeta[c] = db; dgamma[c] = dg; }
    const float k = gamma[c] * invStd / (float) n, fn = (float) n;
    for (int e = lid; e < n; e += BNB_WG) {
        int b = e / spatial, sp = e - b * spatial, i = (b * channels + c) * spatial + sp;
        float g = (has_y && !(y[i] > 0.0f)) ? 0.0f : dy[i];
        float xhat = (x[i] - mean) * invStd;
        dx[i] = bn_dx(g, xhat, k, fn, db, dg);
    }
}
