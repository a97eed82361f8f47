package asymbp.cpu;

import asymbp.backend.ConvShape;

/**
 * The convolution of one image as GEMM operands, without materialising the patch matrix
 * col[k][p] = x[c][oy·s − pad + ky][ox·s − pad + kx] (k = (c·kh + ky)·kw + kx, p = oy·outW + ox,
 * zero outside the image): packing reads it from x row run by row run. Also col2im, the scatter-add
 * that turns the patch-matrix gradient back into dx.
 */
final class Im2col {
    final int inH, inW, outW, p, ckk, stride;
    /** Per k: offset of its channel plane in the image, and its row and column offsets (ky − pad, kx − pad). */
    final int[] plane, dy, dx;

    Im2col(ConvShape s) {
        inH = s.inH(); inW = s.inW(); outW = s.outW(); p = s.outH() * s.outW();
        ckk = s.inC() * s.kh() * s.kw(); stride = s.stride();
        plane = new int[ckk]; dy = new int[ckk]; dx = new int[ckk];
        for (int k = 0; k < ckk; k++) {
            plane[k] = (k / (s.kh() * s.kw())) * inH * inW;
            dy[k] = (k / s.kw()) % s.kh() - s.pad();
            dx[k] = k % s.kw() - s.pad();
        }
    }

    /**
     * dst[dstOff + i] = col[k][p0 + i] for i &lt; len, for the image at x[xOff..]. Positions are
     * walked one output row at a time; within a row the in-image part is a strided (for stride 1, a
     * contiguous) run of x and the rest are zeros.
     */
    void row(float[] x, int xOff, int k, int p0, int len, float[] dst, int dstOff) {
        int oy = p0 / outW, ox = p0 % outW, done = 0;
        int shiftX = dx[k];
        // ox range whose input column ox·stride + shiftX lies in [0, inW)
        int oxFirst = Math.max(0, -Math.floorDiv(shiftX, stride)), oxEnd = Math.floorDiv(inW - 1 - shiftX, stride) + 1;
        while (done < len) {
            int run = Math.min(len - done, outW - ox);
            int iy = oy * stride + dy[k];
            int d = dstOff + done;
            if (iy < 0 || iy >= inH) {
                java.util.Arrays.fill(dst, d, d + run, 0f);
            } else {
                int lo = Math.max(0, Math.min(run, oxFirst - ox)), hi = Math.max(lo, Math.min(run, oxEnd - ox));
                int src = xOff + plane[k] + iy * inW + ox * stride + shiftX;
                java.util.Arrays.fill(dst, d, d + lo, 0f);
                if (stride == 1) System.arraycopy(x, src + lo, dst, d + lo, hi - lo);
                else for (int t = lo; t < hi; t++) dst[d + t] = x[src + t * stride];
                java.util.Arrays.fill(dst, d + hi, d + run, 0f);
            }
            done += run;
            ox = 0;
            oy++;
        }
    }

    /**
     * The whole patch matrix of one image into col (ckk rows of length ld ≥ P, zero beyond P): per k,
     * the in-image column range is worked out once, then each output row is zeros, a run of x, zeros.
     */
    void materialize(float[] x, int xOff, float[] col, int ld) {
        int outH = p / outW;
        for (int k = 0; k < ckk; k++) {
            int shiftX = dx[k];
            int oxFirst = Math.min(outW, Math.max(0, -Math.floorDiv(shiftX, stride)));
            int oxEnd = Math.max(oxFirst, Math.min(outW, Math.floorDiv(inW - 1 - shiftX, stride) + 1));
            for (int oy = 0; oy < outH; oy++) {
                int d = k * ld + oy * outW, iy = oy * stride + dy[k];
                if (iy < 0 || iy >= inH) {
                    java.util.Arrays.fill(col, d, d + outW, 0f);
                    continue;
                }
                int src = xOff + plane[k] + iy * inW + shiftX;
                java.util.Arrays.fill(col, d, d + oxFirst, 0f);
                if (stride == 1) System.arraycopy(x, src + oxFirst, col, d + oxFirst, oxEnd - oxFirst);
                else for (int ox = oxFirst; ox < oxEnd; ox++) col[d + ox] = x[src + ox * stride];
                java.util.Arrays.fill(col, d + oxEnd, d + outW, 0f);
            }
            java.util.Arrays.fill(col, k * ld + p, (k + 1) * ld, 0f);
        }
    }

    /** B = col (K = ckk, N = outH·outW): the forward product y_b = W · col. */
    Gemm.PanelB patches(float[] x, int xOff) {
        return (dst, dstOff, k0, kc, j0, nr, s) -> {
            for (int k = 0; k < kc; k++) {
                int at = dstOff + k * Gemm.NR;
                row(x, xOff, k0 + k, j0, nr, dst, at);
                for (int j = nr; j < Gemm.NR; j++) dst[at + j] = 0f;
            }
        };
    }

    /** dx_b = 0, then dx_b[c][iy][ix] += colGrad[k][q] (colGrad is ckk×P) wherever the patch element lies inside the image. */
    void col2im(float[] colGrad, float[] dxs, int dxOff, int channels) {
        java.util.Arrays.fill(dxs, dxOff, dxOff + channels * inH * inW, 0f);
        int outH = p / outW;
        for (int k = 0; k < ckk; k++) {
            int shiftX = dx[k];
            int oxFirst = Math.max(0, -Math.floorDiv(shiftX, stride)), oxEnd = Math.min(outW, Math.floorDiv(inW - 1 - shiftX, stride) + 1);
            for (int oy = 0; oy < outH; oy++) {
                int iy = oy * stride + dy[k];
                if (iy < 0 || iy >= inH) continue;
                int dst = dxOff + plane[k] + iy * inW + shiftX, src = k * p + oy * outW;
                if (stride == 1) for (int ox = oxFirst; ox < oxEnd; ox++) dxs[dst + ox] += colGrad[src + ox];
                else for (int ox = oxFirst; ox < oxEnd; ox++) dxs[dst + ox * stride] += colGrad[src + ox];
            }
        }
    }
}
