/*
 * linear_forward: y = x·Wᵀ + b, then ReLU if relu.   y batch×out, x batch×in, W out×in, b out.
 * Launch: tiles_for(batch, out) groups of WG (common/gemm.h).
 * Product M = batch, N = out, R = in; A(m,r) = x[m·in + r], B(r,n) = W[n·in + r].
 */
#include "common/gemm.h"

KERNEL void linear_forward(BUF(float, y), CBUF(float, x), CBUF(float, w), OPT_CBUF(float, b),
                           int batch, int in, int out, int relu) {
    LOCAL_MEM float As[TK * TM_MAX];
    LOCAL_MEM float Bs[TK * TN_MAX];
    OFF(y); OFF(x); OFF(w); OPT_OFF(b);
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int M = batch, N = out, R = in;
    const int tm = tile_rows(M), tn = tile_cols(M), rtm = tm / 16, rtn = tn / 16;
    const int tilesN = (N + tn - 1) / tn;
    const int m0 = (GROUP_ID() / tilesN) * tm, n0 = (GROUP_ID() % tilesN) * tn;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    for (int r0 = 0; r0 < R; r0 += TK) {
        /* r fastest: rows of x and W are contiguous */
        for (int e = lid; e < TK * tm; e += WG) {
            int kk = e % TK, mm = e / TK, r = r0 + kk, m = m0 + mm;
            As[kk * tm + mm] = (m < M && r < R) ? x[m * in + r] : 0.0f;
        }
        for (int e = lid; e < TK * tn; e += WG) {
            int kk = e % TK, nn = e / TK, r = r0 + kk, n = n0 + nn;
            Bs[kk * tn + nn] = (n < N && r < R) ? w[n * in + r] : 0.0f;
        }
        BARRIER();
        if (tm == TS) tile_mac(As, Bs, part, tx, ty); else tile_mac_wide(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0, R);
    }
    for (int i = 0; i < rtm; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < rtn; j++) {
            int n = n0 + tx + 16 * j;
            if (n >= N) continue;
            float v = acc[i * rtn + j];
            if (has_b) v += b[n];
            if (relu && !(v > 0.0f)) v = 0.0f;
            y[m * out + n] = v;
        }
    }
}

/*
 * linear_forward_direct: the same op without local memory or barriers, for CPU OpenCL devices (the
 * host picks it there): each thread computes DM×DN outputs straight from global memory (the caches do
 * the tiling) and its accumulators stay in registers; pocl runs the barrier-tiled kernel several times
 * slower. Launch: ceil(ceil(batch/DM)·ceil(out/DN) / WG) groups of WG.
 */
#define DM 4
#define DN 8

KERNEL void linear_forward_direct(BUF(float, y), CBUF(float, x), CBUF(float, w), OPT_CBUF(float, b),
                                  int batch, int in, int out, int relu) {
    OFF(y); OFF(x); OFF(w); OPT_OFF(b);
    const int nb = (out + DN - 1) / DN, t = GLOBAL_ID();
    const int m0 = (t / nb) * DM, n0 = (t % nb) * DN;
    if (m0 >= batch) return;   /* no barrier in this kernel */
    float acc[DM * DN], part[DM * DN];
    for (int i = 0; i < DM * DN; i++) { acc[i] = 0.0f; part[i] = 0.0f; }
    for (int r = 0; r < in; r++) {
        float a[DM], bv[DN];
        /* rows past the edge read the last row (in bounds) and are never stored */
        for (int i = 0; i < DM; i++) a[i] = x[min(m0 + i, batch - 1) * in + r];
        for (int j = 0; j < DN; j++) bv[j] = w[min(n0 + j, out - 1) * in + r];
        for (int i = 0; i < DM; i++)
            for (int j = 0; j < DN; j++) part[i * DN + j] = FMA(a[i], bv[j], part[i * DN + j]);
        if ((r + 1) % BLOCK_R == 0 || r + 1 == in)
            for (int i = 0; i < DM * DN; i++) { acc[i] += part[i]; part[i] = 0.0f; }
    }
    for (int i = 0; i < DM; i++) {
        int m = m0 + i;
        if (m >= batch) break;
        for (int j = 0; j < DN; j++) {
            int n = n0 + j;
            if (n >= out) break;
            float v = acc[i * DN + j];
            if (has_b) v += b[n];
            if (relu && !(v > 0.0f)) v = 0.0f;
            y[m * out + n] = v;
        }
    }
}
