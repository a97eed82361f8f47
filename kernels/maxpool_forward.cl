/*
 * maxpool_forward: k×k windows, stride k, no padding, floor(h/k)×floor(w/k) outputs. The first maximum
 * in row-major window order wins ties (strict >). argmax = flat index into the whole x view.
 * Launch: ceil(batch·channels·(h/k)·(w/k) / WG) groups of WG.
 */
#include "common/elementwise.h"

KERNEL void maxpool_forward(BUF(float, y), BUF(int, argmax), CBUF(float, x),
                            int batch, int channels, int h, int w, int k) {
    OFF(y); OFF(argmax); OFF(x);
    const int oh = h / k, ow = w / k, total = batch * channels * oh * ow;
    const int o = GLOBAL_ID();
    if (o >= total) return;
    int best;
    y[o] = maxpool_window(x, o, h, w, k, &best);
    argmax[o] = best;
}
