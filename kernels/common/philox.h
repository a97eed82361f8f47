/*
 * philox.h — Philox-4x32-10 and the project's counter layout, mirroring asymbp.rng.Philox and
 * asymbp.backend.Feedback.v bit for bit (see Philox.java for the layout, written down once):
 *
 *   key     = ( seed_lo, seed_hi )
 *   counter = ( index_lo, index_hi, (purpose << 24) | layer, step )
 *   uniform = (w0 >> 8) * 2^-24                                         in [0,1)
 *   normal  = (float)((w0>>8)+(w1>>8)+(w2>>8)+(w3>>8) - 2^25) * PHILOX_NORMAL_SCALE
 *
 * The one device-side copy: the OpenCL bodies and every version in kernels/<op>.cu include it
 * (emulate.cuh also compiles it as host C++ for the V check).
 * Needs the dialect of vendor_cl.h / vendor_cuda.h. Exactness: integer ops, one int->float
 * conversion (round to nearest even everywhere) and plain products only, nothing an FMA can fuse.
 */
#ifndef ASYMBP_PHILOX_H
#define ASYMBP_PHILOX_H

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

#define PURPOSE_INIT_WEIGHT 1
#define PURPOSE_INIT_BIAS 2
#define PURPOSE_SHUFFLE 3
#define PURPOSE_FEEDBACK_MAGNITUDE 4
#define PURPOSE_FEEDBACK_FLIP 5

/* 2^-24 */
#define PHILOX_UNIT 5.9604644775390625e-08f
/* (float)(sqrt(3) * 2^-24) = 0x1.bb67aep-24, the same float as Philox.NORMAL_SCALE. */
#define PHILOX_NORMAL_SCALE 1.0323827126512697e-07f

#define FB_BP 0
#define FB_USF 1
#define FB_BRSF 2
#define FB_FRSF 3
#define FB_FA 4
#define FB_PSF 5

/* Bits of the fb_flags argument (Feedback.flags()). */
#define FB_FLAG_HALF_NORMAL 1
#define FB_FLAG_UNIFORM_B 2

/* The raw generator: 10 rounds on counter c with key (k0, k1); writes 4 words into out. */
DEVICE_FN void philox4x32_10(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint* out) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) { k0 += PHILOX_W0; k1 += PHILOX_W1; }
        uint hi0 = MULHI_U32(PHILOX_M0, c0), lo0 = PHILOX_M0 * c0;
        uint hi1 = MULHI_U32(PHILOX_M1, c2), lo1 = PHILOX_M1 * c2;
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
    }
    out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

DEVICE_FN void philox_block(uint seed_lo, uint seed_hi, int purpose, int layer, int step, U64 index, uint* out) {
    philox4x32_10((uint) index, (uint) (index >> 32), ((uint) purpose << 24) | ((uint) layer & 0xffffffu),
                  (uint) step, seed_lo, seed_hi, out);
}

DEVICE_FN float philox_uniform(uint seed_lo, uint seed_hi, int purpose, int layer, int step, U64 index) {
    uint w[4];
    philox_block(seed_lo, seed_hi, purpose, layer, step, index, w);
    return (float) (w[0] >> 8) * PHILOX_UNIT;
}

DEVICE_FN float philox_normal(uint seed_lo, uint seed_hi, int purpose, int layer, int step, U64 index) {
    uint w[4];
    philox_block(seed_lo, seed_hi, purpose, layer, step, index, w);
    int s = (int) (w[0] >> 8) + (int) (w[1] >> 8) + (int) (w[2] >> 8) + (int) (w[3] >> 8);
    return (float) (s - (1 << 25)) * PHILOX_NORMAL_SCALE;
}

/* sign(0) = 0, also for -0.0; NaN gives 0 (docs/spec.md §3). */
DEVICE_FN float sign0(float w) {
    return (w > 0.0f ? 1.0f : 0.0f) - (w < 0.0f ? 1.0f : 0.0f);
}

/*
 * Feedback parameters travel as these nine kernel arguments (FeedbackMode ordinal, Feedback.scale,
 * .p, .sigma, Feedback.flags() — bit 0 half-normal magnitudes, bit 1 fa's B uniform on ±sigma —, the
 * seed's low and high words, .layer, .step).
 */
#define FB_ARGS int fb_mode, float fb_scale, float fb_p, float fb_sigma, int fb_flags, \
                uint fb_seed_lo, uint fb_seed_hi, int fb_layer, int fb_step
#define FB_PASS fb_mode, fb_scale, fb_p, fb_sigma, fb_flags, fb_seed_lo, fb_seed_hi, fb_layer, fb_step

DEVICE_FN float fb_magnitude(FB_ARGS, U64 index) {
    int mstep = fb_mode == FB_BRSF ? fb_step : 0;
    if (fb_flags & FB_FLAG_HALF_NORMAL) {
        float z = philox_normal(fb_seed_lo, fb_seed_hi, PURPOSE_FEEDBACK_MAGNITUDE, fb_layer, mstep, index);
        return z < 0.0f ? -z : z;
    }
    return philox_uniform(fb_seed_lo, fb_seed_hi, PURPOSE_FEEDBACK_MAGNITUDE, fb_layer, mstep, index);
}

/* V at flat index `index`, given W there: Feedback.v, bit for bit. Also the tuned CUDA versions' V
   (through fb_v in kernels/cuda/graph.cuh). Written as a switch in this case order: as an if-chain, nvcc
   unswitched the loop-invariant mode out of the unrolled GEMM tile loads there (4x the code, +10..30
   registers in linear_backward_dx). */
DEVICE_FN float feedback_v(FB_ARGS, float w, U64 index) {
    switch (fb_mode) {
    case FB_BP: return w;
    case FB_USF: return fb_scale * sign0(w);
    case FB_BRSF:
    case FB_FRSF: {
        float m = fb_scale * fb_magnitude(FB_PASS, index);
        return m * sign0(w);
    }
    case FB_FA: {
        if (fb_flags & FB_FLAG_UNIFORM_B) {
            /* sigma·(2u − 1): u + u and the − 1 are exact (multiples of 2^-23 in [-1, 1)), one rounding
               in the product, no multiply-add to contract. */
            float u = philox_uniform(fb_seed_lo, fb_seed_hi, PURPOSE_FEEDBACK_MAGNITUDE, fb_layer, 0, index);
            float c = (u + u) - 1.0f;
            return fb_sigma * c;
        }
        return fb_sigma * philox_normal(fb_seed_lo, fb_seed_hi, PURPOSE_FEEDBACK_MAGNITUDE, fb_layer, 0, index);
    }
    default: { /* FB_PSF */
        float u = philox_uniform(fb_seed_lo, fb_seed_hi, PURPOSE_FEEDBACK_FLIP, fb_layer, 0, index);
        float s = u < fb_p ? sign0(w) : -sign0(w);
        float m = fb_scale * fb_magnitude(FB_PASS, index);
        return m * s;
    }
    }
}

#endif
