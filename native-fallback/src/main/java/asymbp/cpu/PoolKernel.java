package asymbp.cpu;

/**
 * Max pooling, k×k windows at stride k, over a run of flat output indices: y = the first maximum of
 * the window in row-major order by strict &gt; (so a NaN wins only in the first position, and −0.0/+0.0
 * ties keep the earlier one), argmax = its flat input index. This plain-Java version is the definition;
 * {@link VectorPoolKernel} computes the same bits sixteen outputs at a time.
 */
class PoolKernel {
    /** Inputs per unit of {@link Parallel} work: how much cheaper than a scalar step each input is. */
    int inputsPerWork(int k, int w) { return 1; }

    /** Outputs [o0, o1) (flat, row-major over planes × oh × ow) of planes of h×w inputs, oh×ow outputs. */
    void forward(float[] ys, int yo, int[] am, int ao, float[] xs, int xo, int h, int w, int k, int oh, int ow,
                 int o0, int o1) {
        if (o0 >= o1) return;
        int row = o0 / ow, ox = o0 - row * ow, pl = row / oh, oy = row - pl * oh;
        for (int out = o0; out < o1; out++) {
            int first = pl * h * w + oy * k * w + ox * k;
            if (++ox == ow) {
                ox = 0;
                if (++oy == oh) { oy = 0; pl++; }
            }
            int best = k == 2 ? firstMaximum2x2(xs, xo, first, w) : -1;
            if (best < 0) best = firstMaximum(xs, xo, first, w, k);
            ys[yo + out] = xs[xo + best];
            am[ao + out] = best;
        }
    }

    /** Flat index (relative to the view at xo) of the first maximum of a k×k window, row-major, by strict &gt;. */
    static int firstMaximum(float[] xs, int xo, int first, int w, int k) {
        int best = first;
        float max = xs[xo + first];
        for (int dy = 0; dy < k; dy++)
            for (int dx = 0; dx < k; dx++) {
                int at = first + dy * w + dx;
                if (xs[xo + at] > max) { max = xs[xo + at]; best = at; }
            }
        return best;
    }

    /**
     * The same for 2×2 windows without data-dependent branches (random data mispredicts them half the
     * time, 5× slower): the maximum, then the first position equal to it. −0.0 and +0.0 compare equal, as
     * under strict &gt;. A NaN would make the maximum NaN; then -1 sends the window to {@link #firstMaximum}.
     */
    static int firstMaximum2x2(float[] xs, int xo, int first, int w) {
        int i = xo + first;
        float a = xs[i], b = xs[i + 1], c = xs[i + w], d = xs[i + w + 1];
        float m = Math.max(Math.max(a, b), Math.max(c, d));
        int idx = d == m ? first + w + 1 : -1;
        idx = c == m ? first + w : idx;
        idx = b == m ? first + 1 : idx;
        idx = a == m ? first : idx;
        return idx;
    }
}
