/*
 * conv2d_backward (SPEC §2): with g = dy·[y > 0] (has_y) or dy (both batch×outC×outH×outW),
 *   dW the ordinary weight gradient, db = Σ g over batch and space, dx the transposed convolution of g
 *   with V = feedback_v(W), regenerated inside the tile load (index = flat index into W).
 * One launch does all three; the group index picks the part (P = outH·outW, K = inC·kh·kw):
 *   [0, T1)        dW tiles, T1 = tiles_for(outC, K)     M = outC, N = K, R = batch·P
 *                  A(m,r) = g[b, m, pix], B(r,n) = x at (b, c, oy·s − pad + ky, ox·s − pad + kx)
 *   [T1, T1+T2)    dx tiles, T2 = has_dx ? tiles_for(inC, batch·inH·inW) : 0
 *                  M = inC, N = batch·inH·inW, R = outC·kh·kw
 *                  A(c, (o,ky,kx)) = V(W[o, c, ky, kx]), B((o,ky,kx), (b,iy,ix)) = g[b, o, oy, ox] where
 *                  oy·s = iy + pad − ky and ox·s = ix + pad − kx hold exactly inside the output, else 0
 *   [T1+T2, +T3)   db: one group per output channel, T3 = has_db ? outC : 0 (group tree sum)
 * Launch: T1 + T2 + T3 groups of WG.
 */
#include "common/philox.h"
#include "common/gemm.h"
#include "common/reduce.h"

DEVICE_FN float conv_masked_grad(GLOBAL const float* dy, GLOBAL const float* y, int has_y, int i) {
    float g = dy[i];
    return (has_y && !(y[i] > 0.0f)) ? 0.0f : g;
}

KERNEL void conv2d_backward(GLOBAL float* RESTRICT dx, int dx_off, int has_dx,
                            GLOBAL float* RESTRICT dw, int dw_off,
                            GLOBAL float* RESTRICT db, int db_off, int has_db,
                            GLOBAL const float* RESTRICT dy, int dy_off,
                            GLOBAL const float* RESTRICT y, int y_off, int has_y,
                            GLOBAL const float* RESTRICT x, int x_off,
                            GLOBAL const float* RESTRICT w, int w_off,
                            FB_ARGS, int batch, int inC, int inH, int inW, int outC, int kh, int kw,
                            int stride, int pad, int outH, int outW) {
    LOCAL_MEM float As[TK * TS];
    LOCAL_MEM float Bs[TK * TS];
    LOCAL_MEM float red[WG];
    dx += dx_off; dw += dw_off; db += db_off; dy += dy_off; y += y_off; x += x_off; w += w_off;
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int P = outH * outW, khw = kh * kw, K = inC * khw, inHW = inH * inW;
    const int t1 = tiles_for(outC, K), t2 = has_dx ? tiles_for(inC, batch * inHW) : 0;
    int group = GROUP_ID();
    /* Every barrier is reached by every group (pocl needs barriers outside divergent control flow):
       db groups run the tile loop zero times, GEMM groups add zero terms to the db sum. */
    const int isDb = group >= t1 + t2;
    const int isDx = !isDb && group >= t1;
    if (isDb) group -= t1 + t2;
    else if (isDx) group -= t1;
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
    const int M = isDx ? inC : outC, N = isDx ? batch * inHW : K, R = isDb ? 0 : isDx ? outC * khw : batch * P;
    const int tilesN = (N + TS - 1) / TS;
    const int m0 = (group / tilesN) * TS, n0 = (group % tilesN) * TS;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    for (int r0 = 0; r0 < R; r0 += TK) {
        for (int l = 0; l < TILE_LOADS; l++) {
            int e = lid + WG * l;
            if (isDx) {
                {   /* A(c, r) = V(W[o, c, ky, kx]), r = (o·kh + ky)·kw + kx fastest */
                    int kk = e % TK, mm = e / TK, r = r0 + kk, c = m0 + mm;
                    float v = 0.0f;
                    if (c < M && r < R) {
                        int o = r / khw, rr = r - o * khw;
                        int idx = (o * inC + c) * khw + rr;
                        v = feedback_v(FB_PASS, w[idx], (U64) idx);
                    }
                    As[kk * TS + mm] = v;
                }
                {   /* B(r, n) = g[b, o, oy, ox] for input pixel n = (b, iy, ix), n fastest */
                    int nn = e % TS, kk = e / TS, r = r0 + kk, n = n0 + nn;
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
                    Bs[kk * TS + nn] = v;
                }
            } else {
                {   /* A(m, r) = g[b, m, pix], r = b·P + pix fastest */
                    int kk = e % TK, mm = e / TK, r = r0 + kk, m = m0 + mm;
                    float v = 0.0f;
                    if (m < M && r < R) {
                        int bb = r / P, pix = r - bb * P;
                        v = conv_masked_grad(dy, y, has_y, (bb * outC + m) * P + pix);
                    }
                    As[kk * TS + mm] = v;
                }
                {   /* B(r, n) = x[b, c, oy·s − pad + ky, ox·s − pad + kx], n = (c·kh + ky)·kw + kx; r fastest */
                    int kk = e % TK, nn = e / TK, r = r0 + kk, n = n0 + nn;
                    float v = 0.0f;
                    if (n < N && r < R) {
                        int bb = r / P, pix = r - bb * P, oy = pix / outW, ox = pix - oy * outW;
                        int c = n / khw, rr = n - c * khw, ky = rr / kw, kx = rr - ky * kw;
                        int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                        if (iy >= 0 && iy < inH && ix >= 0 && ix < inW)
                            v = x[((bb * inC + c) * inH + iy) * inW + ix];
                    }
                    Bs[kk * TS + nn] = v;
                }
            }
        }
        BARRIER();
        tile_mac(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0, R);
    }
    for (int i = 0; i < RT && !isDb; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < RT; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            if (isDx) {
                int bb = n / inHW, p = n - bb * inHW;
                dx[(bb * inC + m) * inHW + p] = acc[i * RT + j];
            } else {
                dw[m * N + n] = acc[i * RT + j];
            }
        }
    }
}
