/*
 * maxpool_backward: dx = 0 everywhere, then dx[argmax[o]] = dy[o]. Written as a gather (each input
 * element looks at the one window that holds it), so no scatter races and no separate zeroing launch.
 * Launch: ceil(batch·channels·h·w / WG) groups of WG.
 */
#include "common/elementwise.h"

KERNEL void maxpool_backward(BUF(float, dx), CBUF(float, dy), CBUF(int, argmax),
                             int batch, int channels, int h, int w, int k) {
    OFF(dx); OFF(dy); OFF(argmax);
    const int total = batch * channels * h * w;
    const int i = GLOBAL_ID();
    if (i >= total) return;
    dx[i] = maxpool_grad(dy, argmax, i, h, w, k);
}
