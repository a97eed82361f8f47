/*
 * linear_forward: y = x·Wᵀ + b, then ReLU if relu.   y batch×out, x batch×in, W out×in, b out.
 * Launch: tiles_for(batch, out) groups of WG.
 * Product M = batch, N = out, R = in; A(m,r) = x[m·in + r], B(r,n) = W[n·in + r].
 */
#include "common/gemm.h"

KERNEL void linear_forward(GLOBAL float* RESTRICT y, int y_off,
                           GLOBAL const float* RESTRICT x, int x_off,
                           GLOBAL const float* RESTRICT w, int w_off,
                           GLOBAL const float* RESTRICT b, int b_off, int has_b,
                           int batch, int in, int out, int relu) {
    LOCAL_MEM float As[TK * TS];
    LOCAL_MEM float Bs[TK * TS];
    y += y_off; x += x_off; w += w_off; b += b_off;
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int tilesN = (out + TS - 1) / TS;
    const int m0 = (GROUP_ID() / tilesN) * TS, n0 = (GROUP_ID() % tilesN) * TS;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    for (int r0 = 0; r0 < in; r0 += TK) {
        for (int l = 0; l < TILE_LOADS; l++) {
            int e = lid + WG * l, kk = e % TK, mm = e / TK;   /* r fastest: rows of x and W are contiguous */
            int r = r0 + kk, m = m0 + mm, n = n0 + mm;
            As[kk * TS + mm] = (m < batch && r < in) ? x[m * in + r] : 0.0f;
            Bs[kk * TS + mm] = (n < out && r < in) ? w[n * in + r] : 0.0f;
        }
        BARRIER();
        tile_mac(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0, in);
    }
    for (int i = 0; i < RT; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= batch) continue;
        for (int j = 0; j < RT; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= out) continue;
            float v = acc[i * RT + j];
            if (has_b) v += b[n];
            if (relu && !(v > 0.0f)) v = 0.0f;
            y[m * out + n] = v;
        }
    }
}
