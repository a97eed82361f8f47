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
/* reduction values summed into `part` before it is folded into `acc` (a multiple of TK) */
#define BLOCK_R 256
/* The wide tile for products with few rows (M ≤ 16: LeNet's 6 and 16 channels, a 10-class layer):
   16×256 outputs, each thread 1×16, instead of 64×64 of which 6 rows would be used. */
#define TM_WIDE 16
#define TN_WIDE 256
/* largest tile side in each dimension: sizes of the local arrays */
#define TM_MAX TS
#define TN_MAX TN_WIDE

DEVICE_FN int tile_rows(int m) { return m <= TM_WIDE ? TM_WIDE : TS; }
DEVICE_FN int tile_cols(int m) { return m <= TM_WIDE ? TN_WIDE : TS; }
/* work-groups of one product: the tile shape depends on M only */
DEVICE_FN int tiles_for(int m, int n) {
    int tm = tile_rows(m), tn = tile_cols(m);
    return ((m + tm - 1) / tm) * ((n + tn - 1) / tn);
}

/* part[i][j] += Σ_kk As[kk][ty + 16i] · Bs[kk][tx + 16j]   (square tile: 4×4 per thread) */
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

/* part[j] += Σ_kk As[kk][ty] · Bs[kk][tx + 16j]   (wide tile: 1×16 per thread) */
DEVICE_FN void tile_mac_wide(LOCAL_PTR const float* As, LOCAL_PTR const float* Bs, float* part, int tx, int ty) {
    for (int kk = 0; kk < TK; kk++) {
        float a = As[kk * TM_WIDE + ty];
        for (int j = 0; j < 16; j++)
            part[j] = FMA(a, Bs[kk * TN_WIDE + tx + 16 * j], part[j]);
    }
}

/* After the TK-step that started at r0: fold part into acc at the end of each BLOCK_R block and at the end. */
DEVICE_FN void tile_fold(float* acc, float* part, int r0, int R) {
    if ((r0 + TK) % BLOCK_R == 0 || r0 + TK >= R) {
        for (int i = 0; i < RT * RT; i++) { acc[i] += part[i]; part[i] = 0.0f; }
    }
}

/*
 * The skeleton every product kernel follows (the loaders differ):
 *   tm = tile_rows(M), tn = tile_cols(M), rtm = tm / 16, rtn = tn / 16;
 *   m0, n0 from the group index (n tiles fastest);
 *   for r0 in steps of TK: fill As[TK][tm] and Bs[TK][tn] (0 outside), BARRIER,
 *       (tm == TS ? tile_mac : tile_mac_wide), BARRIER, tile_fold;
 *   thread (tx, ty) owns outputs (m0 + ty + 16i, n0 + tx + 16j), i < rtm, j < rtn, at acc[i·rtn + j].
 */

#endif
