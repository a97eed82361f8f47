/*
 * maxpool_backward: dx = 0 everywhere, then dx[argmax[o]] = dy[o]. Written as a gather (each input
 * element looks at the one window that holds it), so no scatter races and no separate zeroing launch.
 * Launch: ceil(batch·channels·h·w / WG) groups of WG.
 */
KERNEL void maxpool_backward(GLOBAL float* RESTRICT dx, int dx_off,
                             GLOBAL const float* RESTRICT dy, int dy_off,
                             GLOBAL const int* RESTRICT argmax, int argmax_off,
                             int batch, int channels, int h, int w, int k) {
    dx += dx_off; dy += dy_off; argmax += argmax_off;
    const int oh = h / k, ow = w / k, total = batch * channels * h * w;
    const int i = GLOBAL_ID();
    if (i >= total) return;
    const int ix = i % w, t = i / w, iy = t % h, plane = t / h;
    float v = 0.0f;
    const int oy = iy / k, ox = ix / k;
    if (oy < oh && ox < ow) {
        int o = (plane * oh + oy) * ow + ox;
        if (argmax[o] == i) v = dy[o];
    }
    dx[i] = v;
}
