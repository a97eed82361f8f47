/*
 * gemm.h — the shared pieces of every tiled matrix product (linear/conv forward and backward).
 *
 * A product C[M×N] = Σ_r A(m,r)·B(r,n) runs as one work-group (WG = 256 threads) per TS×TS tile of C.
 * Each thread owns RT×RT outputs at rows m0 + ty + 16·i and columns n0 + tx + 16·j (tx = lid % 16,
 * ty = lid / 16), so neighbouring threads touch neighbouring columns (coalesced on GPUs, vectorisable
 * across work-items by pocl). The reduction dimension advances TK at a time through two local tiles
 * As[TK][TS], Bs[TK][TS] that each kernel fills with its own loader (which is where V is regenerated
 * from W and the ReLU mask applied), padding with 0 beyond M, N or R, so no size needs to be a multiple
 * of the tile. Sums run in a fixed order: results repeat bit for bit. Each thread sums BLOCK_R values of
 * the reduction into `part` with FMA, then adds `part` into `acc`: two-level summation keeps the error
 * of long reductions (a LeNet conv1 weight gradient sums 50 176 products) near that of short ones.
 */
#ifndef ASYMBP_GEMM_H
#define ASYMBP_GEMM_H

#define WG 256
#define TS 64
#define TK 16
#define RT 4
/* elements of one local tile each thread loads per TK step */
#define TILE_LOADS (TK * TS / WG)
/* reduction values summed into `part` before it is folded into `acc` (a multiple of TK) */
#define BLOCK_R 256

DEVICE_FN int tiles_for(int m, int n) { return ((m + TS - 1) / TS) * ((n + TS - 1) / TS); }

/* part[i][j] += Σ_kk As[kk][ty + 16i] · Bs[kk][tx + 16j] */
DEVICE_FN void tile_mac(LOCAL_PTR const float* As, LOCAL_PTR const float* Bs, float* part, int tx, int ty) {
    for (int kk = 0; kk < TK; kk++) {
        float a[RT], b[RT];
        for (int i = 0; i < RT; i++) a[i] = As[kk * TS + ty + 16 * i];
        for (int j = 0; j < RT; j++) b[j] = Bs[kk * TS + tx + 16 * j];
        for (int i = 0; i < RT; i++)
            for (int j = 0; j < RT; j++)
                part[i * RT + j] = FMA(a[i], b[j], part[i * RT + j]);
    }
}

/* After the TK-step that started at r0: fold part into acc at the end of each BLOCK_R block and at the end. */
DEVICE_FN void tile_fold(float* acc, float* part, int r0, int R) {
    if ((r0 + TK) % BLOCK_R == 0 || r0 + TK >= R) {
        for (int i = 0; i < RT * RT; i++) { acc[i] += part[i]; part[i] = 0.0f; }
    }
}

#endif
