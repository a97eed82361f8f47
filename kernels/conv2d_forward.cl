/*
 * conv2d_forward: cross-correlation with zero padding (NCHW), then bias, then ReLU if relu.
 * Launch: tiles_for(outC, batch·outH·outW) groups of WG.
 * Implicit GEMM, M = outC, N = batch·outH·outW, R = inC·kh·kw:
 *   A(m,r) = W[m·R + r];  B(r,n) = x[b, c, oy·stride − pad + ky, ox·stride − pad + kx] (0 outside),
 *   r = (c·kh + ky)·kw + kx,  n = (b·outH + oy)·outW + ox.
 */
#include "common/gemm.h"

KERNEL void conv2d_forward(GLOBAL float* RESTRICT y, int y_off,
                           GLOBAL const float* RESTRICT x, int x_off,
                           GLOBAL const float* RESTRICT w, int w_off,
                           GLOBAL const float* RESTRICT b, int b_off, int has_b,
                           int batch, int inC, int inH, int inW, int outC, int kh, int kw,
                           int stride, int pad, int outH, int outW, int relu) {
    LOCAL_MEM float As[TK * TS];
    LOCAL_MEM float Bs[TK * TS];
    y += y_off; x += x_off; w += w_off; b += b_off;
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int M = outC, outHW = outH * outW, N = batch * outHW, khw = kh * kw, R = inC * khw;
    const int tilesN = (N + TS - 1) / TS;
    const int m0 = (GROUP_ID() / tilesN) * TS, n0 = (GROUP_ID() % tilesN) * TS;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    for (int r0 = 0; r0 < R; r0 += TK) {
        for (int l = 0; l < TILE_LOADS; l++) {
            int e = lid + WG * l;
            {   /* weights: r fastest (contiguous rows of W) */
                int kk = e % TK, mm = e / TK, r = r0 + kk, m = m0 + mm;
                As[kk * TS + mm] = (m < M && r < R) ? w[m * R + r] : 0.0f;
            }
            {   /* input patches: n fastest (neighbouring output pixels read neighbouring input) */
                int nn = e % TS, kk = e / TS, r = r0 + kk, n = n0 + nn;
                float v = 0.0f;
                if (n < N && r < R) {
                    int bb = n / outHW, pix = n - bb * outHW, oy = pix / outW, ox = pix - oy * outW;
                    int c = r / khw, rr = r - c * khw, ky = rr / kw, kx = rr - ky * kw;
                    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                    if (iy >= 0 && iy < inH && ix >= 0 && ix < inW)
                        v = x[((bb * inC + c) * inH + iy) * inW + ix];
                }
                Bs[kk * TS + nn] = v;
            }
        }
        BARRIER();
        tile_mac(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0, R);
    }
    for (int i = 0; i < RT; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < RT; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            int bb = n / outHW, pix = n - bb * outHW;
            float v = acc[i * RT + j];
            if (has_b) v += b[m];
            if (relu && !(v > 0.0f)) v = 0.0f;
            y[(bb * outC + m) * outHW + pix] = v;
        }
    }
}
