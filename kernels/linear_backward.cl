/*
 * linear_backward (SPEC §2): with g = dy·[y > 0] (has_y) or dy,
 *   dW = gᵀ·x,  db = Σ_batch g,  dx = g·V where V = feedback_v(W) is regenerated inside the tile load.
 * One launch does all three; the group index picks the part:
 *   [0, T1)            dW tiles, T1 = tiles_for(out, in)         M = out,   N = in, R = batch
 *   [T1, T1+T2)        dx tiles, T2 = has_dx ? tiles_for(batch, in) : 0   M = batch, N = in, R = out
 *   [T1+T2, +T3)       db: WG columns per group, T3 = has_db ? ceil(out / WG) : 0
 * Launch: T1 + T2 + T3 groups of WG.
 */
#include "common/philox.h"
#include "common/gemm.h"

/* g[b·out + o], the ReLU mask applied */
DEVICE_FN float masked_grad(GLOBAL const float* dy, GLOBAL const float* y, int has_y, int i) {
    float g = dy[i];
    return (has_y && !(y[i] > 0.0f)) ? 0.0f : g;
}

KERNEL void linear_backward(GLOBAL float* RESTRICT dx, int dx_off, int has_dx,
                            GLOBAL float* RESTRICT dw, int dw_off,
                            GLOBAL float* RESTRICT db, int db_off, int has_db,
                            GLOBAL const float* RESTRICT dy, int dy_off,
                            GLOBAL const float* RESTRICT y, int y_off, int has_y,
                            GLOBAL const float* RESTRICT x, int x_off,
                            GLOBAL const float* RESTRICT w, int w_off,
                            FB_ARGS, int batch, int in, int out) {
    LOCAL_MEM float As[TK * TS];
    LOCAL_MEM float Bs[TK * TS];
    dx += dx_off; dw += dw_off; db += db_off; dy += dy_off; y += y_off; x += x_off; w += w_off;
    const int lid = LOCAL_ID(), tx = lid % 16, ty = lid / 16;
    const int t1 = tiles_for(out, in), t2 = has_dx ? tiles_for(batch, in) : 0;
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
    const int tilesN = (N + TS - 1) / TS;
    const int m0 = (group / tilesN) * TS, n0 = (group % tilesN) * TS;
    float acc[RT * RT], part[RT * RT];
    for (int i = 0; i < RT * RT; i++) { acc[i] = 0.0f; part[i] = 0.0f; }

    for (int r0 = 0; r0 < R; r0 += TK) {
        for (int l = 0; l < TILE_LOADS; l++) {
            int e = lid + WG * l;
            if (isDx) {
                {   /* A(m,r) = g[m·out + r], r fastest */
                    int kk = e % TK, mm = e / TK, r = r0 + kk, m = m0 + mm;
                    As[kk * TS + mm] = (m < M && r < R) ? masked_grad(dy, y, has_y, m * out + r) : 0.0f;
                }
                {   /* B(r,n) = V(W[r·in + n]), n fastest */
                    int nn = e % TS, kk = e / TS, r = r0 + kk, n = n0 + nn;
                    float v = 0.0f;
                    if (n < N && r < R) {
                        int idx = r * in + n;
                        v = feedback_v(FB_PASS, w[idx], (U64) idx);
                    }
                    Bs[kk * TS + nn] = v;
                }
            } else {
                {   /* A(m,r) = g[r·out + m], m fastest */
                    int mm = e % TS, kk = e / TS, r = r0 + kk, m = m0 + mm;
                    As[kk * TS + mm] = (m < M && r < R) ? masked_grad(dy, y, has_y, r * out + m) : 0.0f;
                }
                {   /* B(r,n) = x[r·in + n], n fastest */
                    int nn = e % TS, kk = e / TS, r = r0 + kk, n = n0 + nn;
                    Bs[kk * TS + nn] = (n < N && r < R) ? x[r * in + n] : 0.0f;
                }
            }
        }
        BARRIER();
        tile_mac(As, Bs, part, tx, ty);
        BARRIER();
        tile_fold(acc, part, r0, R);
    }
    GLOBAL float* c = isDx ? dx : dw;
    for (int i = 0; i < RT && !isDb; i++) {
        int m = m0 + ty + 16 * i;
        if (m >= M) continue;
        for (int j = 0; j < RT; j++) {
            int n = n0 + tx + 16 * j;
            if (n < N) c[m * N + n] = acc[i * RT + j];
        }
    }
}
