/*
 * conv.h — one element of a convolution's implicit im2col matrix, shared by the tiled loaders of
 * conv2d_forward and conv2d_backward (dW): x at output position (b, oy, ox) and patch index
 * p = (c·kh + ky)·kw + kx, or 0 where the window reaches into the zero padding.
 */
#ifndef ASYMBP_CONV_H
#define ASYMBP_CONV_H

DEVICE_FN float conv_patch(GLOBAL const float* RESTRICT x, int b, int oy, int ox, int p,
                           int inC, int inH, int inW, int kh, int kw, int stride, int pad) {
    int khw = kh * kw, c = p / khw, rr = p - c * khw, ky = rr / kw, kx = rr - ky * kw;
    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
    return (iy >= 0 && iy < inH && ix >= 0 && ix < inW) ? x[((b * inC + c) * inH + iy) * inW + ix] : 0.0f;
}

#endif
