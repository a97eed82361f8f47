// conv_gemm.cuh — the implicit-GEMM operands of the CUDA-tuned convolutions (conv2d_forward.cu and
// conv2d_backward.cu, v2/v3): the shape bundle and the im2col loader both directions use.
#ifndef ASYMBP_CUDA_CONV_GEMM_CUH
#define ASYMBP_CUDA_CONV_GEMM_CUH

#include "cuda/gemm_tiles.cuh"

struct ConvArgs { int B, C, H, W, OC, KH, KW, stride, pad, OH, OW; };

#define CONV_PARAMS int B, int C, int H, int W, int OC, int KH, int KW, int stride, int pad, int OH, int OW
#define CONV_ARGS ConvArgs{B, C, H, W, OC, KH, KW, stride, pad, OH, OW}
#define CONV_ARG_NAMES B, C, H, W, OC, KH, KW, stride, pad, OH, OW

// im2col(x)[k][n]: k = (c, ky, kx), n = (b, oy, ox); 0 in the padding.
struct Im2colB { const float* x; ConvArgs a;
    __device__ float operator()(int k, int n) const {
        int khw = a.KH * a.KW, ohw = a.OH * a.OW;
        int c = k / khw, r = k - c * khw, ky = r / a.KW, kx = r - ky * a.KW;
        int b = n / ohw, q = n - b * ohw, oy = q / a.OW, ox = q - oy * a.OW;
        int iy = oy * a.stride - a.pad + ky, ix = ox * a.stride - a.pad + kx;
        if (iy < 0 || iy >= a.H || ix < 0 || ix >= a.W) return 0.f;
        return x[(((long long) b * a.C + c) * a.H + iy) * a.W + ix];
    } };

#endif
