package asymbp.cpu;

import asymbp.backend.ConvShape;

/**
 * The convolution of one image as GEMM operands, without materialising the column matrix: the
 * patch matrix col[k][p] = x[c][oy·s − pad + ky][ox·s − pad + kx] (k = (c·kh + ky)·kw + kx, p = oy·outW + ox,
 * zero outside the image) is read straight from x while packing. Also the col2im scatter for dx.
 */
final class Im2col {
    final int inH, inW, outW, p, ckk, stride, pad;
    /** Per k: the channel plane offset, ky and kx. */
    final int[] plane, ky, kx;

    Im2col(ConvShape s) {
        inH = s.inH(); inW = s.inW(); outW = s.outW(); p = s.outH() * s.outW();
        ckk = s.inC() * s.kh() * s.kw(); stride = s.stride(); pad = s.pad();
        plane = new int[ckk]; ky = new int[ckk]; kx = new int[ckk];
        for (int k = 0; k < ckk; k++) {
            plane[k] = (k / (s.kh() * s.kw())) * inH * inW;
            ky[k] = (k / s.kw()) % s.kh();
            kx[k] = k % s.kw();
        }
    }

    /** The value col[k][q] of the image at x[xOff..]. */
    private float at(float[] x, int xOff, int k, int q) {
        int iy = (q / outW) * stride - pad + ky[k], ix = (q % outW) * stride - pad + kx[k];
        return iy >= 0 && iy < inH && ix >= 0 && ix < inW ? x[xOff + plane[k] + iy * inW + ix] : 0f;
    }

    /** B = col (K = ckk, N = outH·outW): the forward product y_b = W · col. */
    Gemm.B patches(float[] x, int xOff) {
        return (dst, dstOff, k0, kc, j0, nr, s) -> {
            for (int k = 0; k < kc; k++) {
                int row = dstOff + k * Gemm.NR;
                for (int j = 0; j < nr; j++) dst[row + j] = at(x, xOff, k0 + k, j0 + j);
                for (int j = nr; j < Gemm.NR; j++) dst[row + j] = 0f;
            }
        };
    }

    /** B = colᵀ (K = outH·outW, N = ckk): the weight gradient dW += g_b · colᵀ. */
    Gemm.B patchesTransposed(float[] x, int xOff) {
        return (dst, dstOff, k0, kc, j0, nr, s) -> {
            for (int k = 0; k < kc; k++) {
                int row = dstOff + k * Gemm.NR;
                for (int j = 0; j < nr; j++) dst[row + j] = at(x, xOff, j0 + j, k0 + k);
                for (int j = nr; j < Gemm.NR; j++) dst[row + j] = 0f;
            }
        };
    }

    /** dx_b = 0, then dx_b[c][iy][ix] += colT[q][k] over every (q, k) whose patch element lies inside the image. */
    void col2im(float[] colT, float[] dx, int dxOff, int channels) {
        java.util.Arrays.fill(dx, dxOff, dxOff + channels * inH * inW, 0f);
        for (int q = 0; q < p; q++) {
            int oy = (q / outW) * stride - pad, ox = (q % outW) * stride - pad;
            for (int k = 0; k < ckk; k++) {
                int iy = oy + ky[k], ix = ox + kx[k];
                if (iy >= 0 && iy < inH && ix >= 0 && ix < inW) dx[dxOff + plane[k] + iy * inW + ix] += colT[q * ckk + k];
            }
        }
    }
}
