/*
 * batchnorm_backward: exact backward of training-mode batch norm (and of the fused ReLU if has_y).
 * Per channel over n = batch·spatial values: g = dy·[y > 0] (or dy), xhat = (x − saveMean)·saveInvStd,
 *   dbeta = Σ g, dgamma = Σ g·xhat, dx = gamma·invStd/n · (n·g − dbeta − xhat·dgamma).
 * Launch: channels groups of WG (one group per channel, deterministic tree sums).
 */
#include "common/reduce.h"
#include "common/elementwise.h"

#define BNB_WG 256

KERNEL void batchnorm_backward(BUF(float, dx), BUF(float, dgamma), BUF(float, dbeta), CBUF(float, dy),
                               OPT_CBUF(float, y), CBUF(float, x), CBUF(float, save_mean),
                               CBUF(float, save_inv_std), CBUF(float, gamma),
                               int batch, int channels, int spatial) {
    LOCAL_MEM float red[BNB_WG];
    OFF(dx); OFF(dgamma); OFF(dbeta); OFF(dy); OPT_OFF(y); OFF(x);
    OFF(save_mean); OFF(save_inv_std); OFF(gamma);
    const int c = GROUP_ID(), lid = LOCAL_ID(), n = batch * spatial;
    const float mean = save_mean[c], invStd = save_inv_std[c];
    float sg = 0.0f, sgx = 0.0f;
    for (int e = lid; e < n; e += BNB_WG) {
        int i = bn_index(e, c, channels, spatial);
        float g = (has_y && !(y[i] > 0.0f)) ? 0.0f : dy[i];
        sg += g;
        sgx += g * ((x[i] - mean) * invStd);
    }
    const float db = group_sum(red, sg, lid, BNB_WG);
    const float dg = group_sum(red, sgx, lid, BNB_WG);
    if (lid == 0) { dbeta[c] = db; dgamma[c] = dg; }
    const float k = gamma[c] * invStd / (float) n, fn = (float) n;
    for (int e = lid; e < n; e += BNB_WG) {
        int i = bn_index(e, c, channels, spatial);
        float g = (has_y && !(y[i] > 0.0f)) ? 0.0f : dy[i];
        float xhat = (x[i] - mean) * invStd;
        dx[i] = bn_dx(g, xhat, k, fn, db, dg);
    }
}
