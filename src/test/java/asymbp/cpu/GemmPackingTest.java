package asymbp.cpu;

import asymbp.backend.ConvShape;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: the packing contracts GEMM relies on, checked element by element — each packed element is
 * the operand's, the padding of a short panel is zero, and nothing outside the panel is written (the
 * destination starts as NaN). Strided operands with every stride pattern, feedback operands, im2col
 * rows and patches, and the reuse of the per-thread scratch arrays.
 */
class GemmPackingTest {

    private static final int MR = Gemm.MR, NR = Gemm.NR;

    private static float[] nan(int n) { float[] a = new float[n]; Arrays.fill(a, Float.NaN); return a; }

    private static void untouched(float[] dst, int from, int to) {
        for (int i = from; i < to; i++) assertTrue(Float.isNaN(dst[i]), "element " + i + " outside the panel was written");
    }

    @Test
    void stridedPacksEveryStridePatternAndZeroesThePadding() {
        SplittableRandom r = CpuTestSupport.random("GemmPackingTest.strided");
        int rows = 40, cols = 45;
        float[] m = CpuTestSupport.uniform(r, 3 + rows * cols * 2, -1, 1);
        // element (i, j) of each operand, whatever its layout
        int[][] strides = {{cols, 1}, {1, rows}, {2 * cols, 2}, {2, 2 * rows}};
        for (int[] st : strides) {
            Gemm.Strided op = new Gemm.Strided(m, 3, st[0], st[1]);
            for (int mr : new int[] {MR, 3, 1}) {
                int kc = 5, i0 = 7, k0 = 4, off = 11;
                float[] dst = nan(off + kc * MR + 13);
                op.packA(dst, off, i0, mr, k0, kc);
                for (int k = 0; k < kc; k++)
                    for (int row = 0; row < MR; row++)
                        assertEquals(row < mr ? m[3 + (i0 + row) * st[0] + (k0 + k) * st[1]] : 0f, dst[off + k * MR + row],
                                "packA strides " + Arrays.toString(st) + " mr " + mr + " (" + row + ", " + k + ")");
                untouched(dst, 0, off);
                untouched(dst, off + kc * MR, dst.length);
            }
            for (int nr : new int[] {NR, 5, 1}) {
                int kc = 6, k0 = 2, j0 = 3, off = 9;
                float[] dst = nan(off + kc * NR + 17);
                op.packB(dst, off, k0, kc, j0, nr, null);
                for (int k = 0; k < kc; k++)
                    for (int j = 0; j < NR; j++)
                        assertEquals(j < nr ? m[3 + (k0 + k) * st[0] + (j0 + j) * st[1]] : 0f, dst[off + k * NR + j],
                                "packB strides " + Arrays.toString(st) + " nr " + nr + " (" + k + ", " + j + ")");
                untouched(dst, 0, off);
                untouched(dst, off + kc * NR, dst.length);
            }
        }
    }

    /** The panels of columns [j0, j0+nc) of B (as element(k, j)): panel q at q·kc·NR, zero columns beyond nc. */
    private static void assertPanels(float[] dst, int kc, int j0, int nc, java.util.function.IntBinaryOperator bits, String what) {
        int panels = (nc + NR - 1) / NR;
        for (int q = 0; q < panels; q++)
            for (int k = 0; k < kc; k++)
                for (int j = 0; j < NR; j++) {
                    int col = q * NR + j;
                    float want = col < nc ? Float.intBitsToFloat(bits.applyAsInt(k, j0 + col)) : 0f;
                    assertEquals(want, dst[q * kc * NR + k * NR + j], what + " panel " + q + " (" + k + ", " + j + ")");
                }
        untouched(dst, panels * kc * NR, dst.length);
    }

    @Test
    void panelsOfStridedAndFeedbackOperands() {
        SplittableRandom r = CpuTestSupport.random("GemmPackingTest.panels");
        int k = 9, n = 4 * NR + 21;
        float[] w = CpuTestSupport.uniform(r, 2 + k * n, -1, 1);
        Gemm.Scratch s = new Gemm.Scratch(new FeedbackRow());
        // the widest first: the generator's row then holds stale values past a narrower block's end
        for (int nc : new int[] {3 * NR + 4, 2 * NR + 5, NR, 7}) {
            int kc = 4, k0 = 3, j0 = NR;
            float[] dst = nan(4 * kc * NR + 9);
            Gemm.Strided.rowMajor(w, 2, n).packPanels(dst, k0, kc, j0, nc, s);
            assertPanels(dst, kc, j0, nc, (kk, j) -> Float.floatToRawIntBits(w[2 + (k0 + kk) * n + j]), "strided nc " + nc);

            dst = nan(4 * kc * NR + 9);
            new Gemm.FeedbackB(Feedback.bp(), w, 2, n).packPanels(dst, k0, kc, j0, nc, s);
            assertPanels(dst, kc, j0, nc, (kk, j) -> Float.floatToRawIntBits(w[2 + (k0 + kk) * n + j]), "bp nc " + nc);

            Feedback brsf = new Feedback(FeedbackMode.BRSF, 0.5f, 1f, 0f, false, r.nextLong(), 2, 0);
            float[] v = new float[k * n];
            new FeedbackRow().fill(brsf, w, 2, 0, k * n, v, 0);    // V of the whole matrix, element index k·N + j
            dst = nan(4 * kc * NR + 9);
            new Gemm.FeedbackB(brsf, w, 2, n).packPanels(dst, k0, kc, j0, nc, s);
            assertPanels(dst, kc, j0, nc, (kk, j) -> Float.floatToRawIntBits(v[(k0 + kk) * n + j]), "brsf nc " + nc);
        }
    }

    @Test
    void im2colRowsAndPatchesAreThePatchMatrix() {
        SplittableRandom r = CpuTestSupport.random("GemmPackingTest.im2col");
        for (ConvShape sh : new ConvShape[] {new ConvShape(1, 2, 7, 9, 3, 3, 3, 1, 1), new ConvShape(1, 2, 11, 8, 3, 3, 2, 2, 2),
                new ConvShape(1, 1, 6, 6, 1, 5, 5, 1, 0), new ConvShape(1, 3, 9, 9, 2, 3, 3, 3, 0)}) {
            Im2col im = new Im2col(sh);
            int p = sh.outH() * sh.outW(), ld = p + 3, xo = 5;
            float[] x = CpuTestSupport.uniform(r, xo + (int) sh.inSize(), -1, 1);
            float[] col = new float[im.ckk * ld];
            im.materialize(x, xo, col, ld);
            // the reference: the definition of the patch matrix
            for (int kk = 0; kk < im.ckk; kk++) {
                int c = kk / (sh.kh() * sh.kw()), ky = kk / sh.kw() % sh.kh(), kx = kk % sh.kw();
                for (int q = 0; q < p; q++) {
                    int iy = q / sh.outW() * sh.stride() - sh.pad() + ky, ix = q % sh.outW() * sh.stride() - sh.pad() + kx;
                    float want = iy < 0 || iy >= sh.inH() || ix < 0 || ix >= sh.inW() ? 0f : x[xo + (c * sh.inH() + iy) * sh.inW() + ix];
                    assertEquals(want, col[kk * ld + q], sh + " col[" + kk + "][" + q + "]");
                }
                for (int q = p; q < ld; q++) assertEquals(0f, col[kk * ld + q], "zero beyond P");
            }
            // rows from anywhere, of any length, across output rows
            for (int t = 0; t < 40; t++) {
                int kk = r.nextInt(im.ckk), p0 = r.nextInt(p), len = 1 + r.nextInt(p - p0), off = r.nextInt(4);
                float[] dst = nan(off + len + 3);
                im.row(x, xo, kk, p0, len, dst, off);
                for (int i = 0; i < len; i++) assertEquals(col[kk * ld + p0 + i], dst[off + i], sh + " row k " + kk + " from " + p0);
                untouched(dst, 0, off);
                untouched(dst, off + len, dst.length);
            }
            // patches as a panel operand
            Gemm.PanelB b = im.patches(x, xo);
            for (int nr : new int[] {Math.min(NR, p), Math.min(5, p)}) {
                int kc = Math.min(4, im.ckk), k0 = im.ckk - kc, j0 = p - nr, off = 6;
                float[] dst = nan(off + kc * NR + 4);
                b.packB(dst, off, k0, kc, j0, nr, null);
                for (int kk = 0; kk < kc; kk++)
                    for (int j = 0; j < NR; j++)
                        assertEquals(j < nr ? col[(k0 + kk) * ld + j0 + j] : 0f, dst[off + kk * NR + j], sh + " patches");
                untouched(dst, 0, off);
                untouched(dst, off + kc * NR, dst.length);
            }
        }
    }

    @Test
    void scratchArraysGrowOnDemandAndAreReused() {
        Gemm.Scratch s = new Gemm.Scratch(new FeedbackRow());
        float[] w = s.work(10);
        assertEquals(10, w.length);
        assertSame(w, s.work(10), "an array of exactly the size asked is reused");
        assertSame(w, s.work(3));
        assertEquals(11, s.work(11).length);
        float[] w2 = s.work2(8);
        assertSame(w2, s.work2(8));
        assertEquals(9, s.work2(9).length);
        float[] row = s.row(Gemm.NC);
        assertSame(row, s.row(Gemm.NC), "the row starts at NC and is reused at that size");
        assertEquals(Gemm.NC + 1, s.row(Gemm.NC + 1).length);
        assertEquals(0, new Gemm.Scratch(new FeedbackRow()).work(0).length);
    }
}
