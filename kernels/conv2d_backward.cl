/*
 * conv2d_backward (docs/spec.md §2): with g = dy·[y > 0] (has_y) or dy (both batch×outC×outH×outW),
 *   dW the ordinary weight gradient, db = Σ g over batch and space, dx the transposed convolution of g
 *   with V = feedback_v(W), regenerated inside the tile load (index = flat index into W).
 * One launch does all three; the group index picks the part (P = outH·outW, K = inC·kh·kw):
 *   [0, T1)        dW tiles, T1 = tiles_for(outC, K) · S  M = outC, N = K, R = batch·P
 *                  A(m,r) = g[b, m, pix], B(r,n) = x at (b, c, oy·s − pad + ky, ox·s − pad + kx)
 *                  The reduction is split into S = ceil(R / split_r) chunks of split_r (a multiple of
 *                  BLOCK_R) so a small dW over a long R (LeNet conv1: 150 outputs, R = 50 176) still
 *                  spreads over many groups. S = 1: the tile writes dw. S > 1: chunk s writes
 *                  partial[(s·outC + m)·K + n] and conv2d_backward_reduce then sums the S chunks in
 *                  order into dw (a second launch: ceil(outC·K / WG) groups), so results repeat.
 *                  dw_direct (host's choice for small dW, outC·K ≤ 1024): no tiles; T1 = ceil(outC·K / WG) · S
 *                  and each thread sums its one output over its chunk straight from global memory
 *                  (a 64×64 or 16×256 tile would be mostly empty for LeNet's 6×25 and 16×150).
 *   [T1, T1+T2)    dx tiles, T2 = has_dx ? tiles_for(inC, batch·inH·inW) : 0
 *                  M = inC, N = batch·inH·inW, R = outC·kh·kw
 *                  A(c, (o,ky,kx)) = V(W[o, c, ky, kx]), B((o,ky,kx), (b,iy,ix)) = g[b, o, oy, ox] where
 *                  oy·s = iy + pad − ky and ox·s = ix + pad − kx hold exactly inside the output, else 0
 *                  dx_direct (host's choice when inC ≤ 16 and W has ≤ 4096 elements): T2 = ceil(batch·inH·inW / WG);
 *                  each group regenerates all of V once into local memory, each thread sums one input
 *                  pixel for every input channel (no tile rows wasted on LeNet's 6 input channels).
 *   [T1+T2, +T3)   db: one group per output channel, T3 = has_db ? outC : 0 (group tree sum)
 * Launch: T1 + T2 + T3 groups of WG (tiles_for in common/gemm.h).
 */
#include "common/philox.h"
#include "common/gemm.h"
#include "common/reduce.h"
#include "common/conv.h"

DEVICE_FN float conv_masked_grad(GLOBAL const float* dy, GLOBAL const float* y, int has_y, int i) {
    float g = dy[i];
    return (has_y && !(y[i] > 0.0f)) ? 0.0f : g;
}

KERNEL void conv2d_backward(OPT_BUF(float, dx), BUF(float, dw), OPT_BUF(float, db), CBUF(float, dy),
                            OPT_CBUF(float, y), CBUF(float, x), CBUF(float, w),
                            BUF(float, partial), int split_r, int dw_direct, int dx_direct,
                            FB_ARGS, int batch, int inC, int inH, int inW, int outC, int kh, int kw,
                            int stride, int pad, int outH, int outW) {
    LOCAL_MEM float As[TK * TM_MAX];
    LOCAL_MEM float Bs[TK * TN_MAX];
    LOCAL_MEM float red[WG];
    OPT_OFF(dx); OFF(dw); OPT_OFF(db); OFF(dy); OPT_OFF(y); OFF(x); OFF(w);
    OFF(partial);
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int P = outH * outW, khw = kh * kw, K = inC * khw, inHW = inH * inW;
    const int splits = (batch * P + split_r - 1) / split_r;
    const int dwTiles = dw_direct ? (outC * K + WG - 1) / WG : tiles_for(outC, K);
    const int t1 = dwTiles * splits;
    const int t2 = !has_dx ? 0 : dx_direct ? (batch * inHW + WG - 1) / WG : tiles_for(inC, batch * inHW);
    int group = GROUP_ID();
    /* Every barrier is reached by every group (pocl needs barriers outside divergent control flow):
       db groups run the tile loop zero times, product groups add zero terms to the db sum. */
    const int isDb = group >= t1 + t2;
    const int isDx = !isDb && group >= t1;
    int split = 0;
    if (isDb) group -= t1 + t2;
    else if (isDx) group -= t1;
    else { split = group / dwTiles; group -= split * dwTiles; }
    {
        float s = 0.0f;
        if (isDb) {
            const int n = batch * P;
            for (int e = lid; e < n; e += WG) {
                int bb = e / P, pix = e - bb * P;
                s += conv_masked_grad(dy, y, has_y, (bb * outC + group) * P + pix);
            }
        }
        s = group_sum(red, s, lid, WG);
        if (isDb && lid == 0) db[group] = s;
    }
    const int M = isDx ? inC : outC, N = isDx ? batch * inHW : K;
    /* this group's reduction range [rBegin, R) */
    const int rBegin = (isDb || isDx) ? 0 : split * split_r;
    const int rEnd = isDb ? 0 : isDx ? outC * khw : min(batch * P, rBegin + split_r);
    GLOBAL float* dwOut = splits == 1 ? dw : partial + split * outC * K;
    const int direct = dw_direct && !isDb && !isDx;
    if (direct) {                                   /* one dW output per thread over this chunk */
        const int o = group * WG + lid;
        if (o < outC * K) {
            const int m = o / K, n = o - m * K;
            const int c = n / khw, rr = n - c * khw, ky = rr / kw, kx = rr - ky * kw;
            float a = 0.0f, pt = 0.0f;
            /* walk r = (b, oy, ox) incrementally: no divisions in the loop */
            int bb = rBegin / P, pix = rBegin - bb * P, oy = pix / outW, ox = pix - oy * outW;
            for (int r = rBegin; r < rEnd; r++) {
                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                if (iy >= 0 && iy < inH && ix >= 0 && ix < inW)
                    pt = FMA(conv_masked_grad(dy, y, has_y, ((bb * outC + m) * outH + oy) * outW + ox),
                             x[((bb * inC + c) * inH + iy) * inW + ix], pt);
                if ((r - rBegin + 1) % BLOCK_R == 0) { a += pt; pt = 0.0f; }
                if (++ox == outW) { ox = 0; if (++oy == outH) { oy = 0; bb++; } }
            }
            dwOut[o] = a + pt;
        }
    }
    /* dx_direct: V once per group into local memory (Bs, same layout as W), then one pixel per thread */
    const int vDirect = isDx && dx_direct, nW = outC * inC * khw;
    if (vDirect)
        for (int e = lid; e < nW; e += WG) Bs[e] = feedback_v(FB_PASS, w[e], (U64) e);
    BARRIER();
    if (vDirect) {
        const int n = group * WG + lid;
        if (n < batch * inHW) {
            const int bb = n / inHW, p = n - bb * inHW, iy = p / inW, ix = p - iy * inW;
            float sum[TM_WIDE];
            for (int c = 0; c < inC; c++) sum[c] = 0.0f;
            for (int ky = 0; ky < kh; ky++) {
                int sy = iy + pad - ky;
                if (sy < 0 || sy % stride != 0 || sy / stride >= outH) continue;
                for (int kx = 0; kx < kw; kx++) {
                    int sx = ix + pad - kx;
                    if (sx < 0 || sx % stride != 0 || sx / stride >= outW) continue;
                    /* the divisibility test once per (ky, kx), then every output channel */
                    GLOBAL const float* g0 = dy + (bb * outC * outH + sy / stride) * outW + sx / stride;
                    GLOBAL const float* y0 = y + (bb * outC * outH + sy / stride) * outW + sx / stride;
                    for (int o = 0; o < outC; o++) {
                        float g = g0[o * P];
                        if (has_y && !(y0[o * P] > 0.0f)) g = 0.0f;
                        LOCAL_PTR const float* v = Bs + o * inC * khw + ky * kw + kx;
                        for (int c = 0; c < inC; c++) sum[c] = FMA(g, v[c * khw], sum[c]);
                    }
                }
            }
            for (int c = 0; c < inC; c++) dx[(bb * inC + c) * inHW + p] = sum[c];
        }
    }
    BARRIER();   /* the tile loop below reuses Bs */
    const int R = (direct || vDirect) ? 0 : rEnd;
    const int tm = tile_rows(M), tn = tile_cols(M), rtm = tm / 16, rtn = tn / 16;
    const int tilesN = (N + tn - 1) / tn;
    const int m0 = (group / tilesN) * tm, n0 = (group % tilesN) * tn;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    for (int r0 = rBegin; r0 < R; r0 += TK) {
        if (isDx) {
            for (int e = lid; e < TK * tm; e += WG) {   /* A(c, r) = V(W[o, c, ky, kx]), r = (o·kh + ky)·kw + kx fastest */
                int kk = e % TK, mm = e / TK, r = r0 + kk, c = m0 + mm;
                float v = 0.0f;
                if (c < M && r < R) {
                    int o = r / khw, rr = r - o * khw;
                    int idx = (o * inC + c) * khw + rr;
                    v = feedback_v(FB_PASS, w[idx], (U64) idx);
                }
                As[kk * tm + mm] = v;
            }
            for (int e = lid; e < TK * tn; e += WG) {   /* B(r, n) = g[b, o, oy, ox] for input pixel n = (b, iy, ix) */
                int nn = e % tn, kk = e / tn, r = r0 + kk, n = n0 + nn;
                float v = 0.0f;
                if (n < N && r < R) {
                    int o = r / khw, rr = r - o * khw, ky = rr / kw, kx = rr - ky * kw;
                    int bb = n / inHW, p = n - bb * inHW, iy = p / inW, ix = p - iy * inW;
                    int sy = iy + pad - ky, sx = ix + pad - kx;
                    if (sy >= 0 && sx >= 0 && sy % stride == 0 && sx % stride == 0) {
                        int oy = sy / stride, ox = sx / stride;
                        if (oy < outH && ox < outW)
                            v = conv_masked_grad(dy, y, has_y, ((bb * outC + o) * outH + oy) * outW + ox);
                    }
                }
                Bs[kk * tn + nn] = v;
            }
        } else {
            for (int e = lid; e < TK * tm; e += WG) {   /* A(m, r) = g[b, m, pix], r = b·P + pix fastest */
                int kk = e % TK, mm = e / TK, r = r0 + kk, m = m0 + mm;
                float v = 0.0f;
                if (m < M && r < R) {
                    int bb = r / P, pix = r - bb * P;
                    v = conv_masked_grad(dy, y, has_y, (bb * outC + m) * P + pix);
                }
                As[kk * tm + mm] = v;
            }
            for (int e = lid; e < TK * tn; e += WG) {   /* B(r, n) = x at the patch, n = (c·kh + ky)·kw + kx; r fastest */
                int kk = e % TK, nn = e / TK, r = r0 + kk, n = n0 + nn;
                float v = 0.0f;
                if (n < N && r < R) {
                    int bb = r / P, pix = r - bb * P, oy = pix / outW, ox = pix - oy * outW;
                    v = conv_patch(x, bb, oy, ox, n, inC, inH, inW, kh, kw, stride, pad);
                }
                Bs[kk * tn + nn] = v;
            }
        }
        BARRIER();
        if (tm == TS) tile_mac(As, Bs, part, tx, ty); else tile_mac_wide(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0 - rBegin, R - rBegin);
    }
    for (int i = 0; i < rtm && !isDb && !direct && !vDirect; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < rtn; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            if (isDx) {
                int bb = n / inHW, p = n - bb * inHW;
                dx[(bb * inC + m) * inHW + p] = acc[i * rtn + j];
            } else {
                dwOut[m * N + n] = acc[i * rtn + j];
            }
        }
    }
}

/* dw[i] = Σ_{s < splits} partial[s·n + i], s in order (n = outC·inC·kh·kw). Launch: ceil(n / WG) groups. */
KERNEL void conv2d_backward_reduce(BUF(float, dw), CBUF(float, partial), int n, int splits) {
    OFF(dw); OFF(partial);
    const int i = GLOBAL_ID();
    if (i >= n) return;
    float s = 0.0f;
    for (int k = 0; k < splits; k++) s += partial[k * n + i];
    dw[i] = s;
}
