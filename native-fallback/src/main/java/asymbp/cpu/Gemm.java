package asymbp.cpu;

/**
 * Blocked SGEMM, C[M×N] = (or +=) A[M×K]·B[K×N], in the classic five-loop order: for each block of
 * NC columns and KC depth, pack B once (this is where V is regenerated from W, see {@link FeedbackB});
 * for each block of MC rows pack A; then run the {@link MicroKernel} over MR×NR tiles. Operands are
 * packing functions, so transposes, im2col and feedback matrices cost nothing extra.
 */
final class Gemm {
    static final int MR = MicroKernel.MR, NR = MicroKernel.NR;
    static final int KC = 256, MC = 128, NC = 512;

    /** Packs rows [i0, i0+mr) × depth [k0, k0+kc) as dst[dstOff + k·MR + r], zero rows r ≥ mr. */
    interface A {
        void packA(float[] dst, int dstOff, int i0, int mr, int k0, int kc);
    }

    /** Packs depth [k0, k0+kc) × columns [j0, j0+nc) (j0 a multiple of NR) as NR-wide panels, panel q at dst[q·kc·NR]. */
    interface B {
        void packPanels(float[] dst, int k0, int kc, int j0, int nc, Scratch s);
    }

    /** A B operand packed one panel at a time. */
    interface PanelB extends B {
        /** Packs depth [k0, k0+kc) × columns [j0, j0+nr) as dst[dstOff + k·NR + j], zero columns j ≥ nr. */
        void packB(float[] dst, int dstOff, int k0, int kc, int j0, int nr, Scratch s);

        @Override
        default void packPanels(float[] dst, int k0, int kc, int j0, int nc, Scratch s) {
            for (int jr = 0; jr < nc; jr += NR) packB(dst, jr * kc, k0, kc, j0 + jr, Math.min(NR, nc - jr), s);
        }
    }

    /** Per-thread packing buffers and feedback generator, grown on demand and reused. */
    static final class Scratch {
        float[] a = new float[MC * KC];
        float[] b = new float[KC * NC];
        final float[] tile = new float[MR * NR];
        final FeedbackRow feedback;
        /** Free for the op that owns this thread's chunk (per-image buffers, partial sums). */
        float[] work = new float[0];
        float[] work2 = new float[0];

        Scratch(FeedbackRow feedback) { this.feedback = feedback; }

        float[] row = new float[NC];

        float[] work(int n) { if (work.length < n) work = new float[n]; return work; }
        float[] row(int n) { if (row.length < n) row = new float[n]; return row; }
        float[] work2(int n) { if (work2.length < n) work2 = new float[n]; return work2; }
    }

    final MicroKernel kernel;
    private final ThreadLocal<Scratch> scratch;

    Gemm(MicroKernel kernel, java.util.function.Supplier<FeedbackRow> feedback) {
        this.kernel = kernel;
        this.scratch = ThreadLocal.withInitial(() -> new Scratch(feedback.get()));
    }

    Scratch scratch() { return scratch.get(); }

    /** C = (or +=) A·B over the whole problem, split over both cores along the longer side. */
    void multiply(Parallel par, int m, int n, int k, A a, B b, float[] c, int cOff, int ldc, boolean accumulate) {
        long work = (long) m * n * k;
        // Each chunk packs its own copy of the other operand: two chunks per thread, not more.
        int perChunk = Math.max(1, 2 * par.threads());
        if (n >= m) {
            int align = Math.max(NR, (n / perChunk + NR - 1) / NR * NR);
            par.forRange(n, align, work, (lo, hi, t) -> block(0, m, lo, hi, k, a, b, c, cOff, ldc, accumulate, scratch()));
        } else {
            int align = Math.max(MR, (m / perChunk + MR - 1) / MR * MR);
            par.forRange(m, align, work, (lo, hi, t) -> block(lo, hi, 0, n, k, a, b, c, cOff, ldc, accumulate, scratch()));
        }
    }

    /** C[m0..m1)×[n0..n1) on the calling thread; n0 is a multiple of NR or 0. */
    void block(int m0, int m1, int n0, int n1, int k, A a, B b, float[] c, int cOff, int ldc,
               boolean accumulate, Scratch s) {
        if (m1 <= m0 || n1 <= n0) return;
        if (k == 0) {
            if (!accumulate)
                for (int i = m0; i < m1; i++) java.util.Arrays.fill(c, cOff + i * ldc + n0, cOff + i * ldc + n1, 0f);
            return;
        }
        float[] pa = s.a, pb = s.b, tile = s.tile;
        for (int jc = n0; jc < n1; jc += NC) {
            int nc = Math.min(NC, n1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean acc = accumulate || pc > 0;
                b.packPanels(pb, pc, kc, jc, nc, s);
                for (int ic = m0; ic < m1; ic += MC) {
                    int mc = Math.min(MC, m1 - ic);
                    for (int ir = 0; ir < mc; ir += MR)
                        a.packA(pa, ir * kc, ic + ir, Math.min(MR, mc - ir), pc, kc);
                    for (int jr = 0; jr < nc; jr += NR) {
                        int nr = Math.min(NR, nc - jr);
                        for (int ir = 0; ir < mc; ir += MR) {
                            int mr = Math.min(MR, mc - ir);
                            int cAt = cOff + (ic + ir) * ldc + jc + jr;
                            if (mr == MR && nr == NR) {
                                kernel.tile(kc, pa, ir * kc, pb, jr * kc, c, cAt, ldc, acc);
                            } else {
                                kernel.tile(kc, pa, ir * kc, pb, jr * kc, tile, 0, NR, false);
                                for (int r = 0; r < mr; r++)
                                    for (int j = 0; j < nr; j++)
                                        c[cAt + r * ldc + j] = acc ? c[cAt + r * ldc + j] + tile[r * NR + j] : tile[r * NR + j];
                            }
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------------ operands

    /** A dense matrix: element (r, c) at m[off + r·rs + c·cs]. Serves as A (r=i, c=k) or B (r=k, c=j). */
    static final class Strided implements A, PanelB {
        final float[] m;
        final int off, rs, cs;

        Strided(float[] m, int off, int rs, int cs) { this.m = m; this.off = off; this.rs = rs; this.cs = cs; }

        /** Row-major rows×cols with leading dimension ld. */
        static Strided rowMajor(float[] m, int off, int ld) { return new Strided(m, off, ld, 1); }

        /** The transpose of a row-major matrix with leading dimension ld. */
        static Strided transposed(float[] m, int off, int ld) { return new Strided(m, off, 1, ld); }

        @Override
        public void packA(float[] dst, int dstOff, int i0, int mr, int k0, int kc) {
            if (cs == 1) {
                for (int r = 0; r < mr; r++) {
                    int src = off + (i0 + r) * rs + k0;
                    for (int k = 0; k < kc; k++) dst[dstOff + k * MR + r] = m[src + k];
                }
            } else {
                for (int k = 0; k < kc; k++) {
                    int src = off + (k0 + k) * cs + i0 * rs;
                    for (int r = 0; r < mr; r++) dst[dstOff + k * MR + r] = m[src + r * rs];
                }
            }
            for (int k = 0; k < kc; k++)
                for (int r = mr; r < MR; r++) dst[dstOff + k * MR + r] = 0f;
        }

        @Override
        public void packB(float[] dst, int dstOff, int k0, int kc, int j0, int nr, Scratch s) {
            if (cs == 1) {
                for (int k = 0; k < kc; k++) {
                    System.arraycopy(m, off + (k0 + k) * rs + j0, dst, dstOff + k * NR, nr);
                    java.util.Arrays.fill(dst, dstOff + k * NR + nr, dstOff + (k + 1) * NR, 0f);
                }
            } else {
                for (int j = 0; j < nr; j++) {
                    int src = off + (j0 + j) * cs + k0 * rs;
                    for (int k = 0; k < kc; k++) dst[dstOff + k * NR + j] = m[src + k * rs];
                }
                for (int k = 0; k < kc; k++) java.util.Arrays.fill(dst, dstOff + k * NR + nr, dstOff + (k + 1) * NR, 0f);
            }
        }
    }

    /**
     * B = V(W) for W row-major K×N (linear out×in; convolution out×(in·kh·kw)): each packed row is
     * regenerated from the W row by {@link FeedbackRow}, element index k·N + j as docs/spec.md §3 defines it.
     */
    static final class FeedbackB implements B {
        final asymbp.backend.Feedback fb;
        final float[] w;
        final int wOff, n;

        FeedbackB(asymbp.backend.Feedback fb, float[] w, int wOff, int n) { this.fb = fb; this.w = w; this.wOff = wOff; this.n = n; }

        /** V for a whole row of the block at once (long runs for the generator), then cut into panels. */
        @Override
        public void packPanels(float[] dst, int k0, int kc, int j0, int nc, Scratch s) {
            if (fb.mode() == asymbp.backend.FeedbackMode.BP) {   // V = W: pack W itself
                Strided.rowMajor(w, wOff, n).packPanels(dst, k0, kc, j0, nc, s);
                return;
            }
            float[] row = s.row(nc);
            for (int k = 0; k < kc; k++) {
                int index = (k0 + k) * n + j0;
                s.feedback.fill(fb, w, wOff + index, index, nc, row, 0);
                for (int jr = 0; jr < nc; jr += NR) {
                    int nr = Math.min(NR, nc - jr), at = jr * kc + k * NR;
                    System.arraycopy(row, jr, dst, at, nr);
                    java.util.Arrays.fill(dst, at + nr, at + NR, 0f);
                }
            }
        }
    }
}
