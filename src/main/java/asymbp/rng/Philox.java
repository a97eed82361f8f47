package asymbp.rng;

/**
 * Philox-4x32-10 (Salmon, Moraes, Dror and Shaw, SC'11, "Random123") and the project's counter layout.
 *
 * <p>Every random quantity in the engine is a pure function of (seed, purpose, layer, step, element
 * index), so any backend regenerates it anywhere, bit for bit. The layout, written down once here and
 * mirrored by {@code kernels/common/philox.h}:
 *
 * <pre>
 *   key     = ( seed &amp; 0xffffffff,  seed &gt;&gt;&gt; 32 )
 *   counter = ( index &amp; 0xffffffff, index &gt;&gt;&gt; 32, (purpose &lt;&lt; 24) | layer, step )
 * </pre>
 *
 * <ul>
 *   <li>{@code layer}: 0-based index of the weight layer (24 bits); 0 where no layer applies.
 *   <li>{@code step}: the training step for quantities redrawn every step (brSF's M_t), the epoch for
 *       the shuffle, 0 for everything drawn once (frSF's M, psf's u and M, fa's B, initialisation).
 *   <li>{@code index}: the element's flat row-major index inside its tensor (W[o][i] of a linear layer is
 *       o*in + i; W[o][c][y][x] of a convolution is ((o*C + c)*kh + y)*kw + x).
 * </ul>
 *
 * Conversions (integer and single-rounding float arithmetic only, so they are exact on every device):
 * <ul>
 *   <li>{@link #uniform}: word 0 of the block, {@code (w0 >>> 8) * 2^-24}, in [0, 1).
 *   <li>{@link #normal}: Irwin-Hall(4) standardised: {@code s = sum_k (w_k >>> 8)} (exact integer),
 *       {@code z = (float)(s - 2^25) * (sqrt(3) * 2^-24)}; mean 0, variance 1, support |z| &lt; 3.47. A
 *       Box-Muller normal would need log/cos, whose last bit differs between Java, OpenCL and CUDA.
 * </ul>
 */
public final class Philox {
    private Philox() {}

    private static final int M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private static final int W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    /** Purposes: the top byte of counter word 2. Never renumber (results would change). */
    public static final int PURPOSE_INIT_WEIGHT = 1;
    public static final int PURPOSE_INIT_BIAS = 2;
    public static final int PURPOSE_SHUFFLE = 3;
    /** Feedback magnitudes: frSF's M, brSF's M_t, psf's M, fa's B. */
    public static final int PURPOSE_FEEDBACK_MAGNITUDE = 4;
    /** psf's u (which signs are flipped). */
    public static final int PURPOSE_FEEDBACK_FLIP = 5;

    /** 2^-24 */
    public static final float UNIT = 0x1.0p-24f;
    /** sqrt(3) * 2^-24, rounded to float once (the kernels use the same literal). */
    public static final float NORMAL_SCALE = (float) (Math.sqrt(3.0) * 0x1.0p-24);

    /** The raw generator: 10 rounds on counter {c0..c3} with key {k0,k1}; writes 4 words into out. */
    public static void philox4x32_10(int c0, int c1, int c2, int c3, int k0, int k1, int[] out) {
        for (int r = 0; r < 10; r++) {
            if (r > 0) { k0 += W0; k1 += W1; }
            long p0 = (M0 & 0xffffffffL) * (c0 & 0xffffffffL);
            long p1 = (M1 & 0xffffffffL) * (c2 & 0xffffffffL);
            int hi0 = (int) (p0 >>> 32), lo0 = (int) p0;
            int hi1 = (int) (p1 >>> 32), lo1 = (int) p1;
            c0 = hi1 ^ c1 ^ k0;
            c1 = lo1;
            c2 = hi0 ^ c3 ^ k1;
            c3 = lo0;
        }
        out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
    }

    /** The block for one element under the project's counter layout. */
    public static void block(long seed, int purpose, int layer, int step, long index, int[] out) {
        philox4x32_10((int) index, (int) (index >>> 32), (purpose << 24) | (layer & 0xffffff), step,
                (int) seed, (int) (seed >>> 32), out);
    }

    /** Uniform in [0,1) from word 0. */
    public static float uniform(long seed, int purpose, int layer, int step, long index) {
        int[] w = new int[4];
        block(seed, purpose, layer, step, index, w);
        return (w[0] >>> 8) * UNIT;
    }

    /** Approximately standard normal (Irwin-Hall(4), standardised); exact on every backend. */
    public static float normal(long seed, int purpose, int layer, int step, long index) {
        int[] w = new int[4];
        block(seed, purpose, layer, step, index, w);
        int s = (w[0] >>> 8) + (w[1] >>> 8) + (w[2] >>> 8) + (w[3] >>> 8);
        return (float) (s - (1 << 25)) * NORMAL_SCALE;
    }

    /** Raw 32-bit word 0, for integer draws (the shuffle). */
    public static int word(long seed, int purpose, int layer, int step, long index) {
        int[] w = new int[4];
        block(seed, purpose, layer, step, index, w);
        return w[0];
    }
}
