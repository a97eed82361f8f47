/*
 * maxpool_forward: k×k windows, stride k, no padding, floor(h/k)×floor(w/k) outputs. The first maximum
 * in row-major window order wins ties (strict >). argmax = flat index into the whole x view.
 * Launch: ceil(batch·channels·(h/k)·(w/k) / WG) groups of WG.
 */
KERNEL void maxpool_forward(GLOBAL float* RESTRICT y, int y_off,
                            GLOBAL int* RESTRICT argmax, int argmax_off,
                            GLOBAL const float* RESTRICT x, int x_off,
                            int batch, int channels, int h, int w, int k) {
    y += y_off; argmax += argmax_off; x += x_off;
    const int oh = h / k, ow = w / k, total = batch * channels * oh * ow;
    const int o = GLOBAL_ID();
    if (o >= total) return;
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
    y[o] = bestV;
    argmax[o] = best;
}
