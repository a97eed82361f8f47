// Philox-4x32-10 and the feedback matrix V(W), CUDA side. Mirrors asymbp.rng.Philox and
// asymbp.backend.Feedback#v bit for bit (integer ops and single-rounding float ops only).
#pragma once
#include "emulate.cuh"

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

#define PURPOSE_FEEDBACK_MAGNITUDE 4u
#define PURPOSE_FEEDBACK_FLIP 5u
// sqrt(3) * 2^-24 rounded to float once, the same literal as Philox.NORMAL_SCALE.
#define PHILOX_NORMAL_SCALE 0x1.bb67aep-24f
#define PHILOX_UNIT 0x1.0p-24f

// FeedbackMode ordinals.
#define FB_BP 0
#define FB_USF 1
#define FB_BRSF 2
#define FB_FRSF 3
#define FB_FA 4
#define FB_PSF 5

struct PhiloxBlock { unsigned w0, w1, w2, w3; };

__device__ __forceinline__ PhiloxBlock philox4x32_10(unsigned c0, unsigned c1, unsigned c2, unsigned c3,
                                                    unsigned k0, unsigned k1) {
#pragma unroll
    for (int r = 0; r < 10; r++) {
        if (r > 0) { k0 += PHILOX_W0; k1 += PHILOX_W1; }
        unsigned hi0 = __umulhi(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        unsigned hi1 = __umulhi(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        unsigned n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0; c1 = lo1; c2 = n2; c3 = lo0;
    }
    PhiloxBlock b = {c0, c1, c2, c3};
    return b;
}

// The project's counter layout: counter = (index lo, index hi, purpose<<24 | layer, step), key = seed.
__device__ __forceinline__ PhiloxBlock philox_block(unsigned seedLo, unsigned seedHi, unsigned purpose,
                                                   int layer, int step, long long index) {
    return philox4x32_10((unsigned) index, (unsigned) ((unsigned long long) index >> 32),
                         (purpose << 24) | ((unsigned) layer & 0xffffffu), (unsigned) step, seedLo, seedHi);
}

__device__ __forceinline__ float philox_uniform(unsigned sl, unsigned sh, unsigned purpose, int layer,
                                                int step, long long index) {
    PhiloxBlock b = philox_block(sl, sh, purpose, layer, step, index);
    return (float) (b.w0 >> 8) * PHILOX_UNIT;
}

__device__ __forceinline__ float philox_normal(unsigned sl, unsigned sh, unsigned purpose, int layer,
                                               int step, long long index) {
    PhiloxBlock b = philox_block(sl, sh, purpose, layer, step, index);
    int s = (int) (b.w0 >> 8) + (int) (b.w1 >> 8) + (int) (b.w2 >> 8) + (int) (b.w3 >> 8);
    return __int2float_rn(s - (1 << 25)) * PHILOX_NORMAL_SCALE;
}

// sign(0) = 0, also for -0.0 and NaN (SPEC §3).
__device__ __forceinline__ float fb_sign(float w) {
    return (w > 0.f ? 1.f : 0.f) - (w < 0.f ? 1.f : 0.f);
}

// Everything needed to regenerate V for one weight layer at one step (asymbp.backend.Feedback).
struct FeedbackArgs {
    int mode; float scale; float p; float sigma; int halfNormal;
    unsigned seedLo; unsigned seedHi; int layer; int step;
};

__device__ __forceinline__ float fb_magnitude(const FeedbackArgs& f, long long index) {
    int mstep = f.mode == FB_BRSF ? f.step : 0;
    return f.halfNormal ? fabsf(philox_normal(f.seedLo, f.seedHi, PURPOSE_FEEDBACK_MAGNITUDE, f.layer, mstep, index))
                        : philox_uniform(f.seedLo, f.seedHi, PURPOSE_FEEDBACK_MAGNITUDE, f.layer, mstep, index);
}

// V at flat index `index` given W there: the element-wise definition of Feedback#v.
__device__ __forceinline__ float fb_v(const FeedbackArgs& f, float w, long long index) {
    switch (f.mode) {
        case FB_BP: return w;
        case FB_USF: return f.scale * fb_sign(w);
        case FB_BRSF:
        case FB_FRSF: return __fmul_rn(f.scale, fb_magnitude(f, index)) * fb_sign(w);
        case FB_FA: return f.sigma * philox_normal(f.seedLo, f.seedHi, PURPOSE_FEEDBACK_MAGNITUDE, f.layer, 0, index);
        case FB_PSF: {
            float u = philox_uniform(f.seedLo, f.seedHi, PURPOSE_FEEDBACK_FLIP, f.layer, 0, index);
            float s = u < f.p ? fb_sign(w) : -fb_sign(w);
            return __fmul_rn(f.scale, fb_magnitude(f, index)) * s;
        }
        default: return __int_as_float(0x7fc00000); // unknown mode: NaN, so a test notices
    }
}
