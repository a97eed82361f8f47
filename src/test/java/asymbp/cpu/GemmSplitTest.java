package asymbp.cpu;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: how {@link Gemm#multiply} splits a product over the threads — along the longer side, in
 * chunks of about n / (2·threads) rounded up to a panel (NR columns, as packPanels requires) or to MR
 * rows, serially below the parallel-for's work threshold — seen through a B operand that records its
 * packing calls; and a product of depth 0.
 */
class GemmSplitTest {

    /** Column starts of every packPanels call, and how many calls. */
    private static List<Integer> panels(int m, int n, int k) {
        SplittableRandom r = CpuTestSupport.random("GemmSplitTest");
        float[] a = CpuTestSupport.uniform(r, m * k, -1, 1), b = CpuTestSupport.uniform(r, k * n, -1, 1), c = new float[m * n];
        ConcurrentLinkedQueue<Integer> starts = new ConcurrentLinkedQueue<>();
        Gemm.Strided bs = Gemm.Strided.rowMajor(b, 0, n);
        Gemm.B recording = (dst, k0, kc, j0, nc, s) -> {
            starts.add(j0);
            bs.packPanels(dst, k0, kc, j0, nc, s);
        };
        Parallel par = new Parallel(2);
        try {
            new Gemm(Kernels.scalar("test").kernel, FeedbackRow::new).multiply(par, m, n, k, Gemm.Strided.rowMajor(a, 0, k), recording, c, 0, n, false);
        } finally {
            par.close();
        }
        for (int i = 0; i < m; i += 3)
            for (int j = 0; j < n; j += 7) {
                double want = 0;
                for (int q = 0; q < k; q++) want += (double) a[i * k + q] * b[q * n + j];
                assertEquals(want, c[i * n + j], 1e-4, "C(" + i + ", " + j + ")");
            }
        return List.copyOf(starts);
    }

    @Test
    void wideProductsSplitTheirColumnsOnPanelBoundaries() {
        // 2 threads, 2 chunks each: columns in 4 chunks of ceil(1000/4) rounded up to 32 = 256
        List<Integer> p = panels(5, 1000, 16);
        assertEquals(Set.of(0, 256, 512, 768), new TreeSet<>(p));
        assertEquals(4, p.size());
        // 1024/4 = 256 is already a panel multiple: not rounded up further
        assertEquals(Set.of(0, 256, 512, 768), new TreeSet<>(panels(5, 1024, 16)));
        // square: the columns are split (n >= m), 64/4 = 16 rounded up to a panel: 2 chunks
        assertEquals(Set.of(0, 32), new TreeSet<>(panels(64, 64, 64)));
    }

    @Test
    void tallProductsSplitTheirRowsAndPackEachColumnBlockOncePerChunk() {
        // rows in chunks of ceil(1000/4) rounded up to 8 = 256: 4 chunks, each packing the 5 columns once
        List<Integer> p = panels(1000, 5, 16);
        assertEquals(List.of(0, 0, 0, 0), p);
        assertEquals(5, panels(65, 5, 128).size(), "65 rows: 65/4 rounded up to 8 = 16-row chunks, 5 of them");
    }

    @Test
    void anEmptyDepthGivesZeroOrLeavesTheSum() {
        Gemm gemm = new Gemm(Kernels.scalar("test").kernel, FeedbackRow::new);
        Parallel par = new Parallel(2);
        try {
            for (boolean accumulate : new boolean[] {false, true}) {
                int m = 3, n = 5, ldc = 7, off = 2;
                float[] c = new float[off + m * ldc + 3];
                java.util.Arrays.fill(c, 4f);
                Gemm.Strided none = Gemm.Strided.rowMajor(new float[0], 0, 0);
                gemm.multiply(par, m, n, 0, none, none, c, off, ldc, accumulate);
                for (int i = 0; i < c.length; i++) {
                    int row = (i - off) / ldc, col = (i - off) % ldc;
                    boolean inC = i >= off && row < m && col < n;
                    assertEquals(inC && !accumulate ? 0f : 4f, c[i], "k = 0, accumulate " + accumulate + ", element " + i);
                }
            }
        } finally {
            par.close();
        }
    }

    @Test
    void smallProductsStayOnOneChunk() {
        // 5·1000·6 = 30000 multiply-adds: below the parallel-for's threshold, one pass over NC-wide blocks
        assertEquals(List.of(0, 512), panels(5, 1000, 6));
    }
}
