/*
 * gather_standardize: for b < batch, n = indices[start + b]:
 *   x[b·features + f] = (images[n·features + f] / 255 − mean[c]) · invStd[c], c = f / plane;
 *   labels_out[b] = labels[n].   mean_inv_std holds C means, then C inverse standard deviations.
 * Launch: ceil(batch·features / WG) groups of WG.
 */
#include "common/elementwise.h"

KERNEL void gather_standardize(GLOBAL float* RESTRICT x, int x_off,
                               GLOBAL int* RESTRICT labels_out, int labels_out_off,
                               GLOBAL const uchar* RESTRICT images, int images_off,
                               GLOBAL const int* RESTRICT labels, int labels_off,
                               GLOBAL const int* RESTRICT indices, int indices_off,
                               GLOBAL const float* RESTRICT mean_inv_std, int mean_inv_std_off,
                               int start, int batch, int features, int plane) {
    x += x_off; labels_out += labels_out_off; images += images_off; labels += labels_off;
    indices += indices_off; mean_inv_std += mean_inv_std_off;
    const int i = GLOBAL_ID();
    if (i >= batch * features) return;
    const int b = i / features, f = i - b * features, c = f / plane, channels = features / plane;
    const int n = indices[start + b];
    x[i] = standardize_pixel(images[n * features + f], mean_inv_std, c, channels);
    if (f == 0) labels_out[b] = labels[n];
}
