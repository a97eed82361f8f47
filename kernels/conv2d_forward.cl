/*
 * conv2d_forward: cross-correlation with zero padding (NCHW), then bias, then ReLU if relu.
 * Launch: tiles_for(outC, batch·outH·outW) groups of WG (common/gemm.h); with direct (host's choice when
 * outC ≤ 16 and W has ≤ 4096 elements) ceil(batch·outH·outW / WG) groups: W goes once per group into
 * local memory and each thread computes one output pixel for every output channel.
 * Implicit GEMM, M = outC, N = batch·outH·outW, R = inC·kh·kw:
 *   A(m,r) = W[m·R + r];  B(r,n) = x[b, c, oy·stride − pad + ky, ox·stride − pad + kx] (0 outside),
 *   r = (c·kh + ky)·kw + kx,  n = (b·outH + oy)·outW + ox.
 */
#include "common/gemm.h"
#include "common/conv.h"

KERNEL void conv2d_forward(BUF(float, y), CBUF(float, x), CBUF(float, w), OPT_CBUF(float, b),
                           int batch, int inC, int inH, int inW, int outC, int kh, int kw,
                           int stride, int pad, int outH, int outW, int relu, int direct) {
    LOCAL_MEM float As[TK * TM_MAX];
    LOCAL_MEM float Bs[TK * TN_MAX];
    OFF(y); OFF(x); OFF(w); OPT_OFF(b);
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int M = outC, outHW = outH * outW, N = batch * outHW, khw = kh * kw, R = inC * khw;
    const int tm = tile_rows(M), tn = tile_cols(M), rtm = tm / 16, rtn = tn / 16;
    const int tilesN = (N + tn - 1) / tn;
    const int m0 = (GROUP_ID() / tilesN) * tm, n0 = (GROUP_ID() % tilesN) * tn;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    if (direct)
        for (int e = lid; e < M * R; e += WG) Bs[e] = w[e];
    BARRIER();
    if (direct) {
        const int n = GROUP_ID() * WG + lid;
        if (n < N) {
            const int bb = n / outHW, pix = n - bb * outHW, oy = pix / outW, ox = pix - oy * outW;
            float sum[TM_WIDE];
            for (int o = 0; o < M; o++) sum[o] = 0.0f;
            for (int c = 0; c < inC; c++)
                for (int ky = 0; ky < kh; ky++) {
                    int iy = oy * stride - pad + ky;
                    if (iy < 0 || iy >= inH) continue;
                    for (int kx = 0; kx < kw; kx++) {
                        int ix = ox * stride - pad + kx;
                        if (ix < 0 || ix >= inW) continue;
                        float v = x[((bb * inC + c) * inH + iy) * inW + ix];
                        LOCAL_PTR const float* wr = Bs + (c * kh + ky) * kw + kx;
                        for (int o = 0; o < M; o++) sum[o] = FMA(wr[o * R], v, sum[o]);
                    }
                }
            for (int o = 0; o < M; o++) {
                float v = sum[o];
                if (has_b) v += b[o];
                if (relu && !(v > 0.0f)) v = 0.0f;
                y[(bb * outC + o) * outHW + pix] = v;
            }
        }
    }
    BARRIER();   /* the tile loop reuses Bs */
    for (int r0 = 0; r0 < (direct ? 0 : R); r0 += TK) {
        for (int e = lid; e < TK * tm; e += WG) {       /* weights: r fastest (contiguous rows of W) */
            int kk = e % TK, mm = e / TK, r = r0 + kk, m = m0 + mm;
            As[kk * tm + mm] = (m < M && r < R) ? w[m * R + r] : 0.0f;
        }
        for (int e = lid; e < TK * tn; e += WG) {       /* input patches: n fastest */
            int nn = e % tn, kk = e / tn, r = r0 + kk, n = n0 + nn;
            float v = 0.0f;
            if (n < N && r < R) {
                int bb = n / outHW, pix = n - bb * outHW, oy = pix / outW, ox = pix - oy * outW;
                v = conv_patch(x, bb, oy, ox, r, inC, inH, inW, kh, kw, stride, pad);
            }
            Bs[kk * tn + nn] = v;
        }
        BARRIER();
        if (tm == TS) tile_mac(As, Bs, part, tx, ty); else tile_mac_wide(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0, R);
    }
    for (int i = 0; i < rtm && !direct; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < rtn; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            int bb = n / outHW, pix = n - bb * outHW;
            float v = acc[i * rtn + j];
            if (has_b) v += b[m];
            if (relu && !(v > 0.0f)) v = 0.0f;
            y[(bb * outC + m) * outHW + pix] = v;
        }
    }
}
