/*
 * linear_backward (docs/spec.md §2): with g = dy·[y > 0] (has_y) or dy,
 *   dW = gᵀ·x,  db = Σ_batch g,  dx = g·V where V = feedback_v(W) is regenerated inside the tile load.
 * One launch does all three; the group index picks the part:
 *   [0, T1)            dW tiles, T1 = has_dw ? tiles_for(out, in) : 0     M = out,   N = in, R = batch
 *   [T1, T1+T2)        dx tiles, T2 = has_dx ? tiles_for(batch, in) : 0    M = batch, N = in, R = out
 *   [T1+T2, +T3)       db: WG columns per group, T3 = has_db ? ceil(out / WG) : 0
 * Launch: T1 + T2 + T3 groups of WG (tiles_for in common/gemm.h).
 * On CPU devices the host computes dW with linear_backward_dw_direct instead (has_dw = 0 here).
 */
#include "common/philox.h"
#include "common/gemm.h"

/* g[i], the ReLU mask applied */
DEVICE_FN float masked_grad(GLOBAL const float* dy, GLOBAL const float* y, int has_y, int i) {
    float g = dy[i];
    return (has_y && !(y[i] > 0.0f)) ? 0.0f : g;
}

KERNEL void linear_backward(OPT_BUF(float, dx), OPT_BUF(float, dw), OPT_BUF(float, db), CBUF(float, dy),
                            OPT_CBUF(float, y), CBUF(float, x), CBUF(float, w),
                            FB_ARGS, int batch, int in, int out) {
    LOCAL_MEM float As[TK * TM_MAX];
    LOCAL_MEM float Bs[TK * TN_MAX];
    OPT_OFF(dx); OPT_OFF(dw); OPT_OFF(db); OFF(dy); OPT_OFF(y); OFF(x); OFF(w);
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int t1 = has_dw ? tiles_for(out, in) : 0, t2 = has_dx ? tiles_for(batch, in) : 0;
    int group = GROUP_ID();
    /* No early return: every barrier below is reached by every group (db groups loop zero times). */
    const int isDb = group >= t1 + t2;
    const int isDx = !isDb && group >= t1;
    if (isDb) {                                     /* db: one thread per output column */
        int o = (group - t1 - t2) * WG + lid;
        if (o < out) {
            float s = 0.0f;
            for (int bb = 0; bb < batch; bb++) s += masked_grad(dy, y, has_y, bb * out + o);
            db[o] = s;
        }
    }
    if (isDx) group -= t1;
    const int M = isDx ? batch : out, N = in, R = isDb ? 0 : isDx ? out : batch;
    const int tm = tile_rows(M), tn = tile_cols(M), rtm = tm / 16, rtn = tn / 16;
    const int tilesN = (N + tn - 1) / tn;
    const int m0 = (group / tilesN) * tm, n0 = (group % tilesN) * tn;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    for (int r0 = 0; r0 < R; r0 += TK) {
        if (isDx) {
            for (int e = lid; e < TK * tm; e += WG) {   /* A(m,r) = g[m·out + r], r fastest */
                int kk = e % TK, mm = e / TK, r = r0 + kk, m = m0 + mm;
                As[kk * tm + mm] = (m < M && r < R) ? masked_grad(dy, y, has_y, m * out + r) : 0.0f;
            }
            for (int e = lid; e < TK * tn; e += WG) {   /* B(r,n) = V(W[r·in + n]), n fastest */
                int nn = e % tn, kk = e / tn, r = r0 + kk, n = n0 + nn;
                float v = 0.0f;
                if (n < N && r < R) {
                    int idx = r * in + n;
                    v = feedback_v(FB_PASS, w[idx], (U64) idx);
                }
                Bs[kk * tn + nn] = v;
            }
        } else {
            for (int e = lid; e < TK * tm; e += WG) {   /* A(m,r) = g[r·out + m], m fastest */
                int mm = e % tm, kk = e / tm, r = r0 + kk, m = m0 + mm;
                As[kk * tm + mm] = (m < M && r < R) ? masked_grad(dy, y, has_y, r * out + m) : 0.0f;
            }
            for (int e = lid; e < TK * tn; e += WG) {   /* B(r,n) = x[r·in + n], n fastest */
                int nn = e % tn, kk = e / tn, r = r0 + kk, n = n0 + nn;
                Bs[kk * tn + nn] = (n < N && r < R) ? x[r * in + n] : 0.0f;
            }
        }
        BARRIER();
        if (tm == TS) tile_mac(As, Bs, part, tx, ty); else tile_mac_wide(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0, R);
    }
    GLOBAL float* c = isDx ? dx : dw;
    for (int i = 0; i < rtm && !isDb; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < rtn; j++) {
            int n = n0 + tx + 16 * j;
            if (n < N) c[m * N + n] = acc[i * rtn + j];
        }
    }
}

/*
 * linear_backward_dw_direct: dW = gᵀ·x without local memory or barriers (CPU devices, as
 * linear_forward_direct): each thread DWM×DWN outputs of dW, summed over the batch from global memory.
 * Launch: ceil(ceil(out/DWM)·ceil(in/DWN) / WG) groups of WG.
 */
#define DWM 4
#define DWN 8

KERNEL void linear_backward_dw_direct(BUF(float, dw), CBUF(float, dy), OPT_CBUF(float, y), CBUF(float, x),
                                      int batch, int in, int out) {
    OFF(dw); OFF(dy); OPT_OFF(y); OFF(x);
    const int nb = (in + DWN - 1) / DWN, t = GLOBAL_ID();
    const int m0 = (t / nb) * DWM, n0 = (t % nb) * DWN;
    if (m0 >= out) return;   /* no barrier in this kernel */
    float acc[DWM * DWN], part[DWM * DWN];
    for (int i = 0; i < DWM * DWN; i++) { acc[i] = 0.0f; part[i] = 0.0f; }
    for (int r = 0; r < batch; r++) {
        float a[DWM], bv[DWN];
        for (int i = 0; i < DWM; i++) a[i] = masked_grad(dy, y, has_y, r * out + min(m0 + i, out - 1));
        for (int j = 0; j < DWN; j++) bv[j] = x[r * in + min(n0 + j, in - 1)];
        for (int i = 0; i < DWM; i++)
            for (int j = 0; j < DWN; j++) part[i * DWN + j] = FMA(a[i], bv[j], part[i * DWN + j]);
        if ((r + 1) % BLOCK_R == 0 || r + 1 == batch)
            for (int i = 0; i < DWM * DWN; i++) { acc[i] += part[i]; part[i] = 0.0f; }
    }
    for (int i = 0; i < DWM; i++) {
        int m = m0 + i;
        if (m >= out) break;
        for (int j = 0; j < DWN; j++) {
            int n = n0 + j;
            if (n >= in) break;
            dw[m * in + n] = acc[i * DWN + j];
        }
    }
}

/*
 * linear_backward_dx_direct: dx = g·V for CPU devices (with linear_backward_dw_direct). A group owns
 * DXN columns of dx and up to WG rows (one per thread, DXN accumulators in registers); it regenerates
 * its DXN columns of V in chunks of DXR rows into local memory, so each V element is regenerated once
 * per WG batch rows (once per step for batches ≤ 256) and the only barriers are the two per chunk.
 * Launch: ceil(in / DXN) · ceil(batch / WG) groups of WG (column blocks fastest).
 */
#define DXN 8
#define DXR 512

KERNEL void linear_backward_dx_direct(BUF(float, dx), CBUF(float, dy), OPT_CBUF(float, y), CBUF(float, w),
                                      FB_ARGS, int batch, int in, int out) {
    LOCAL_MEM float Vl[DXR * DXN];
    OFF(dx); OFF(dy); OPT_OFF(y); OFF(w);
    const int lid = LOCAL_ID(), colBlocks = (in + DXN - 1) / DXN;
    const int n0 = (GROUP_ID() % colBlocks) * DXN, m = (GROUP_ID() / colBlocks) * WG + lid;
    float acc[DXN], part[DXN];
    for (int j = 0; j < DXN; j++) { acc[j] = 0.0f; part[j] = 0.0f; }
    for (int r0 = 0; r0 < out; r0 += DXR) {
        for (int e = lid; e < DXR * DXN; e += WG) {
            int rr = e / DXN, j = e - rr * DXN, r = r0 + rr, n = n0 + j;
            float v = 0.0f;
            if (r < out && n < in) {
                int idx = r * in + n;
                v = feedback_v(FB_PASS, w[idx], (U64) idx);
            }
            Vl[e] = v;
        }
        BARRIER();
        if (m < batch) {
            const int rn = min(DXR, out - r0);
            for (int rr = 0; rr < rn; rr++) {
                float a = masked_grad(dy, y, has_y, m * out + r0 + rr);
                for (int j = 0; j < DXN; j++) part[j] = FMA(a, Vl[rr * DXN + j], part[j]);
                if ((r0 + rr + 1) % BLOCK_R == 0 || r0 + rr + 1 == out)
                    for (int j = 0; j < DXN; j++) { acc[j] += part[j]; part[j] = 0.0f; }
            }
        }
        BARRIER();
    }
    if (m < batch)
        for (int j = 0; j < DXN && n0 + j < in; j++) dx[m * in + n0 + j] = acc[j];
}
