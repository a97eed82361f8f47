/*
 * gather_standardize: for b < batch, n = indices[start + b]:
 *   x[b·features + f] = (images[n·features + f] / 255 − mean[c]) · invStd[c], c = f / plane;
 *   labels_out[b] = labels[n].   mean_inv_std holds C means, then C inverse standard deviations.
 * Launch: ceil(batch·features / WG) groups of WG.
 */
#include "common/elementwise.h"

KERNEL void gather_standardize(BUF(float, x), BUF(int, labels_out), CBUF(uchar, images), CBUF(int, labels),
                               CBUF(int, indices), CBUF(float, mean_inv_std),
                               int start, int batch, int features, int plane) {
    OFF(x); OFF(labels_out); OFF(images); OFF(labels);
    OFF(indices); OFF(mean_inv_std);
    const int i = GLOBAL_ID();
    if (i >= batch * features) return;
    const int b = i / features, f = i - b * features, c = f / plane, channels = features / plane;
    const int n = indices[start + b];
    x[i] = standardize_pixel(images[n * features + f], mean_inv_std, c, channels);
    if (f == 0) labels_out[b] = labels[n];
}
