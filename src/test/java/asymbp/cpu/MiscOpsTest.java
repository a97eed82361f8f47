package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Buffer;
import asymbp.backend.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** gatherStandardize, max-pool ties, softmax with huge logits, and the provider. */
class MiscOpsTest {
    private static CpuBackend be;

    @BeforeAll static void open() { be = new CpuBackend(); }
    @AfterAll static void close() { be.close(); }

    @Test
    void gatherStandardize() {
        SplittableRandom r = CpuTestSupport.random("MiscOpsTest.gather");
        int count = 50, channels = 3, plane = 7, features = channels * plane, batch = 9, start = 4;
        byte[] images = new byte[count * features];
        for (int i = 0; i < images.length; i++) images[i] = (byte) r.nextInt(256);
        int[] labels = new int[count], order = new int[count];
        for (int i = 0; i < count; i++) { labels[i] = r.nextInt(10); order[i] = i; }
        for (int i = count - 1; i > 0; i--) { int j = r.nextInt(i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
        float[] stats = new float[2 * channels];
        for (int c = 0; c < channels; c++) { stats[c] = (float) r.nextDouble(); stats[channels + c] = 1 + 3 * (float) r.nextDouble(); }
        Buffer img = be.alloc(DType.U8, images.length);
        be.upload(img, images);
        Buffer x = CpuTestSupport.poisoned(be, batch * features, r), lab = be.alloc(DType.I32, batch);
        Buffer idx = CpuTestSupport.uploadInts(be, order);
        be.gatherStandardize(x, lab, img, CpuTestSupport.uploadInts(be, labels), idx,
                CpuTestSupport.upload(be, stats, r), start, batch, features, plane);
        float[] xs = CpuTestSupport.download(be, x);
        int[] ls = CpuTestSupport.downloadInts(be, lab);
        for (int b = 0; b < batch; b++) {
            int n = order[start + b];
            assertEquals(labels[n], ls[b], "label of batch row " + b);
            for (int f = 0; f < features; f++) {
                int c = f / plane;
                double want = ((images[n * features + f] & 0xff) / 255.0 - stats[c]) * stats[channels + c];
                assertEquals(want, xs[b * features + f], 1e-5 * Math.max(1, Math.abs(want)), "x[" + b + "][" + f + "]");
            }
        }
        order[start + 2] = count;   // an index past the dataset: a clear error, not garbage
        be.upload(idx, order);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.gatherStandardize(x, lab, img,
                CpuTestSupport.uploadInts(be, labels), idx, CpuTestSupport.upload(be, stats, r), start, batch, features, plane));
        assertTrue(e.getMessage().contains("indices[" + (start + 2) + "] = " + count), e.getMessage());
    }

    @Test
    void maxpoolTiesGoToTheFirstMaximum() {
        // One 4×4 plane, k = 2: windows (row-major): all equal; 5 at top-right and bottom-left; max last; −0/0.
        float[] x = {
                7, 7, 1, 5,
                7, 7, 5, 2,
                -1, -2, 0f, -0f,
                -3, 9, -0f, 0f,
        };
        Buffer y = be.alloc(DType.F32, 4), am = be.alloc(DType.I32, 4), xb = be.alloc(DType.F32, 16);
        be.upload(xb, x);
        be.maxpoolForward(y, am, xb, 1, 1, 4, 4, 2);
        assertArrayEquals(new float[] {7, 5, 9, 0f}, CpuTestSupport.download(be, y));
        assertArrayEquals(new int[] {0, 3, 13, 10}, CpuTestSupport.downloadInts(be, am));
        // Backward scatters to exactly those positions; dx is zero elsewhere.
        Buffer dx = be.alloc(DType.F32, 16), dy = be.alloc(DType.F32, 4);
        be.fill(dx, Float.NaN);
        be.upload(dy, new float[] {1, 2, 3, 4});
        be.maxpoolBackward(dx, dy, am, 1, 1, 4, 4, 2);
        float[] want = new float[16];
        want[0] = 1; want[3] = 2; want[13] = 3; want[10] = 4;
        assertArrayEquals(want, CpuTestSupport.download(be, dx));
    }

    @Test
    void maxpoolManyTiesSignedZerosAndNaN() {
        // Values from a tiny set make ties common; the reference is the definition: first element, then
        // replaced only by a strictly greater one (so NaN never wins unless first, and -0 ties +0).
        SplittableRandom r = CpuTestSupport.random("MiscOpsTest.maxpoolTies");
        float[] pool = {-1f, -0f, 0f, 1f, 1f, 2f, Float.NaN};
        for (int k : new int[] {2, 3}) {
            int planes = 5, h = 7, w = 8, oh = h / k, ow = w / k;
            float[] x = new float[planes * h * w];
            for (int i = 0; i < x.length; i++) x[i] = pool[r.nextInt(pool.length)];
            Buffer y = CpuTestSupport.poisoned(be, planes * oh * ow, r), am = be.alloc(DType.I32, planes * oh * ow);
            be.maxpoolForward(y, am, CpuTestSupport.upload(be, x, r), 1, planes, h, w, k);
            float[] ys = CpuTestSupport.download(be, y);
            int[] as = CpuTestSupport.downloadInts(be, am);
            for (int p = 0; p < planes; p++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        int best = p * h * w + oy * k * w + ox * k;
                        for (int dy = 0; dy < k; dy++)
                            for (int dx = 0; dx < k; dx++) {
                                int i = p * h * w + (oy * k + dy) * w + ox * k + dx;
                                if (x[i] > x[best]) best = i;
                            }
                        int o = (p * oh + oy) * ow + ox;
                        assertEquals(best, as[o], "k=" + k + " argmax of window " + o);
                        assertEquals(Float.floatToRawIntBits(x[best]), Float.floatToRawIntBits(ys[o]), "k=" + k + " max of window " + o);
                    }
        }
    }

    @Test
    void maxpoolOddSizesFloorAndArgmaxWithinTheView() {
        // 2 planes of 5×5, k = 2: output 2×2 each; the last row and column are dropped.
        SplittableRandom r = CpuTestSupport.random("MiscOpsTest.maxpoolOdd");
        float[] x = CpuTestSupport.uniform(r, 50, -1, 1);
        Buffer xb = CpuTestSupport.upload(be, x, r), y = CpuTestSupport.poisoned(be, 8, r), am = be.alloc(DType.I32, 8);
        be.maxpoolForward(y, am, xb, 1, 2, 5, 5, 2);
        float[] ys = CpuTestSupport.download(be, y);
        int[] as = CpuTestSupport.downloadInts(be, am);
        for (int p = 0; p < 2; p++)
            for (int oy = 0; oy < 2; oy++)
                for (int ox = 0; ox < 2; ox++) {
                    int best = -1;
                    for (int dy = 0; dy < 2; dy++) for (int dx = 0; dx < 2; dx++) {
                        int i = p * 25 + (2 * oy + dy) * 5 + 2 * ox + dx;
                        if (best < 0 || x[i] > x[best]) best = i;
                    }
                    int o = p * 4 + oy * 2 + ox;
                    assertEquals(best, as[o], "argmax " + o);
                    assertEquals(x[best], ys[o], "max " + o);
                }
    }

    @Test
    void softmaxIsStableForHugeLogits() {
        int batch = 4, classes = 3;
        float[] z = {
                1000f, 0f, -1000f,       // label 0: loss 0, gradient 0
                1000f, 0f, -1000f,       // label 1: loss 1000
                3e38f, -3e38f, 3e38f,    // label 2: ties at the max (first maximum is class 0: counted wrong); loss ln 2
                2f, 2f, 1f,              // label 1: arg max is class 0 (first maximum), loss ln(2 + e^-1)
        };
        int[] labels = {0, 1, 2, 1};
        Buffer d = be.alloc(DType.F32, 12), st = be.alloc(DType.F32, 2), zb = be.alloc(DType.F32, 12);
        be.fill(d, Float.NaN);
        be.upload(zb, z);
        be.softmaxCrossEntropy(d, st, zb, CpuTestSupport.uploadInts(be, labels), batch, classes);
        float[] stats = CpuTestSupport.download(be, st), g = CpuTestSupport.download(be, d);
        double want = 0 + 1000 + Math.log(2) + Math.log(2 + Math.exp(-1));
        assertEquals(want, stats[0], 1e-6 * want, "summed loss");
        assertEquals(3f, stats[1], "wrong predictions (rows 1, 2, 3)");
        float[] wantG = {
                0, 0, 0,
                0.25f, -0.25f, 0,
                0.125f, 0, -0.125f,
                0, 0, 0,
        };
        double e = Math.exp(-1), s = 2 + e;
        wantG[9] = (float) (1 / s / batch);
        wantG[10] = (float) ((1 / s - 1) / batch);
        wantG[11] = (float) (e / s / batch);
        for (int i = 0; i < 12; i++) {
            assertTrue(Float.isFinite(g[i]), "dlogits[" + i + "] = " + g[i]);
            assertEquals(wantG[i], g[i], 1e-6, "dlogits[" + i + "]");
        }
        // A label outside the classes is a clear error.
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> be.softmaxCrossEntropy(d, st, zb,
                CpuTestSupport.uploadInts(be, new int[] {0, 1, 3, 1}), batch, classes));
        assertTrue(ex.getMessage().contains("labels[2] = 3"), ex.getMessage());
    }

    @Test
    void providerOpensDeviceZeroOnly() throws Exception {
        CpuProvider p = new CpuProvider();
        assertEquals("cpu", p.name());
        assertEquals(1, p.devices().size());
        System.out.println("device: " + p.devices().get(0));
        assertTrue(p.devices().get(0).startsWith("cpu: "), p.devices().get(0));
        try (var b = p.open(0)) {
            assertEquals("cpu", b.name());
            assertTrue(b.deviceName().contains("Vector API"), b.deviceName());
        }
        assertThrows(asymbp.backend.BackendUnavailableException.class, () -> p.open(1));
        try (var b = asymbp.backend.Backends.open("cpu", 0, s -> {})) {
            assertEquals("cpu", b.name());
        }
    }

    @Test
    void scalarBackendSaysSo() {
        CpuBackend s = CpuBackend.scalar(1);
        try {
            assertTrue(s.deviceName().contains("scalar"), s.deviceName());
        } finally {
            s.close();
        }
    }
}
