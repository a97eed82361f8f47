package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.UpdateRule;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every buffer an op reads or writes is checked against the shape before anything runs: a view one
 * element short (inside a larger allocation, so nothing would crash) is a clear error naming the op and
 * argument, and an exactly sized view is accepted. Without the checks a short view silently reads or
 * writes its neighbour's elements.
 */
class CpuBackendViewsTest {
    private static CpuBackend be;

    @BeforeAll static void open() { be = CpuBackend.scalar(1); }
    @AfterAll static void close() { be.close(); }

    /** One buffer argument: its dtype, exact length, and the text its error must contain. */
    private record Arg(DType type, long length, String label) {}

    private static Arg f32(long n, String label) { return new Arg(DType.F32, n, label); }
    private static Arg i32(long n, String label) { return new Arg(DType.I32, n, label); }

    /**
     * Runs op once with every argument exactly sized (must pass), then once per argument with that one
     * a view one element short at the start of a longer allocation (must fail naming label).
     */
    private static void check(String op, Consumer<Buffer[]> run, Arg... args) {
        assertDoesNotThrow(() -> run.accept(views(args, -1)), op + " with exact views");
        for (int i = 0; i < args.length; i++) {
            if (args[i].label == null) continue;
            Buffer[] b = views(args, i);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> run.accept(b),
                    op + ": argument " + i + " one element short");
            assertTrue(e.getMessage().contains(args[i].label), op + " argument " + i + ": " + e.getMessage());
            assertTrue(e.getMessage().contains("needs " + args[i].length) || args[i].label.endsWith("hold"),
                    op + " argument " + i + " names the length it needs: " + e.getMessage());
        }
    }

    private static Buffer[] views(Arg[] args, int shortOne) {
        Buffer[] b = new Buffer[args.length];
        for (int i = 0; i < args.length; i++) {
            long n = args[i].length - (i == shortOne ? 1 : 0);
            Buffer all = be.alloc(args[i].type, args[i].length + 16);
            if (args[i].type == DType.F32) be.fill(all, 0.5f);
            b[i] = all.slice(0, n);
        }
        return b;
    }

    @Test
    void linearOpsRejectShortViews() {
        int batch = 3, in = 5, out = 4;
        check("linearForward", a -> be.linearForward(a[0], a[1], a[2], a[3], batch, in, out, true),
                f32(batch * out, "linearForward y"), f32(batch * in, "linearForward x"),
                f32(out * in, "linearForward w"), f32(out, "linearForward b"));
        Feedback fb = Feedback.bp();
        check("linearBackward", a -> be.linearBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], fb, batch, in, out),
                f32(batch * in, "linearBackward dx"), f32(out * in, "linearBackward dw"), f32(out, "linearBackward db"),
                f32(batch * out, "linearBackward dy"), f32(batch * out, "linearBackward y"),
                f32(batch * in, "linearBackward x"), f32(out * in, "linearBackward w"));
    }

    @Test
    void convOpsRejectShortViews() {
        ConvShape s = new ConvShape(2, 3, 6, 5, 4, 3, 3, 2, 1);
        long in = 2 * s.inSize(), out = 2 * s.outSize(), w = s.weightSize();
        check("conv2dForward", a -> be.conv2dForward(a[0], a[1], a[2], a[3], s, false),
                f32(out, "conv2dForward y"), f32(in, "conv2dForward x"), f32(w, "conv2dForward w"), f32(4, "conv2dForward b"));
        Feedback fb = Feedback.bp();
        check("conv2dBackward", a -> be.conv2dBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], fb, s),
                f32(in, "conv2dBackward dx"), f32(w, "conv2dBackward dw"), f32(4, "conv2dBackward db"),
                f32(out, "conv2dBackward dy"), f32(out, "conv2dBackward y"), f32(in, "conv2dBackward x"),
                f32(w, "conv2dBackward w"));
    }

    @Test
    void batchnormRejectsShortViews() {
        int batch = 2, ch = 3, sp = 5;
        long t = (long) batch * ch * sp;
        String pc = "batchnormForward per-channel";
        for (boolean training : new boolean[] {true, false}) {
            check("batchnormForward training=" + training,
                    a -> be.batchnormForward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], batch, ch, sp, training, 0.1f, 1e-5f, false),
                    f32(t, "batchnormForward y"),
                    f32(ch, training ? "batchnormForward saveMean" : null), f32(ch, training ? "batchnormForward saveInvStd" : null),
                    f32(ch, pc), f32(ch, pc), f32(t, "batchnormForward x"), f32(ch, pc), f32(ch, pc));
        }
        String bpc = "batchnormBackward per-channel";
        check("batchnormBackward", a -> be.batchnormBackward(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], batch, ch, sp),
                f32(t, "batchnormBackward dx"), f32(ch, bpc), f32(ch, bpc), f32(t, "batchnormBackward dy"),
                f32(t, "batchnormBackward y"), f32(t, "batchnormBackward x"), f32(ch, bpc), f32(ch, bpc), f32(ch, bpc));
    }

    @Test
    void poolSoftmaxUpdateRejectShortViews() {
        int batch = 2, ch = 3, h = 5, w = 4, k = 2;
        long in = (long) batch * ch * h * w, out = (long) batch * ch * (h / k) * (w / k);
        check("maxpoolForward", a -> be.maxpoolForward(a[0], a[1], a[2], batch, ch, h, w, k),
                f32(out, "maxpoolForward y"), i32(out, "maxpoolForward argmax"), f32(in, "maxpoolForward x"));
        check("maxpoolBackward", a -> be.maxpoolBackward(a[0], a[1], a[2], batch, ch, h, w, k),
                f32(in, "maxpoolBackward dx"), f32(out, "maxpoolBackward dy"), i32(out, "maxpoolBackward argmax"));
        int classes = 3;
        check("softmaxCrossEntropy", a -> be.softmaxCrossEntropy(a[0], a[1], a[2], a[3], batch, classes),
                f32(batch * classes, "softmaxCrossEntropy dlogits"), f32(2, "softmaxCrossEntropy stats"),
                f32(batch * classes, "softmaxCrossEntropy logits"), i32(batch, "softmaxCrossEntropy labels"));
        // params sets the length: only velocity and grads can be short
        check("applyUpdate", a -> be.applyUpdate(a[0], a[1], a[2], UpdateRule.SGD, 0.1f, 0.9f, 0f, false),
                f32(7, null), f32(7, "applyUpdate velocity"), f32(7, "applyUpdate grads"));
    }

    @Test
    void gatherRejectsShortViewsAndBadPlane() {
        int count = 4, features = 6, plane = 3, batch = 2, start = 1;
        Consumer<Buffer[]> run = a -> be.gatherStandardize(a[0], a[1], a[2], a[3], a[4], a[5], start, batch, features, plane);
        check("gatherStandardize", run,
                f32((long) batch * features, "gatherStandardize x"), i32(batch, "gatherStandardize labelsOut"),
                new Arg(DType.U8, (long) count * features, "images hold"), i32(count, null),
                i32(start + batch, "gatherStandardize indices (start " + start + " + batch " + batch + ")"),
                f32(2L * features / plane, "gatherStandardize meanInvStd"));
        Buffer[] a = views(new Arg[] {f32(12, ""), i32(2, ""), new Arg(DType.U8, 24, ""), i32(4, ""), i32(3, ""), f32(8, "")}, -1);
        for (int badPlane : new int[] {0, 4}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> be.gatherStandardize(a[0], a[1], a[2], a[3], a[4], a[5], start, batch, features, badPlane));
            assertTrue(e.getMessage().contains("not a multiple of plane " + badPlane), e.getMessage());
        }
        // the index check stops at the batch: an invalid index just past it (another batch's) is not read
        Buffer idxAll = be.alloc(DType.I32, start + batch + 1);
        be.upload(idxAll, new int[] {0, 3, 2, count});
        assertDoesNotThrow(() -> be.gatherStandardize(a[0], a[1], a[2], a[3], idxAll.slice(0, start + batch), a[5], start, batch, features, plane));
        // plane = 1 (one value per channel) is valid
        assertDoesNotThrow(() -> be.gatherStandardize(a[0], a[1], a[2], a[3], a[4], be.alloc(DType.F32, 2L * features), start, batch, features, 1));
        // indices below zero are as wrong as past the end
        be.upload(a[4], new int[] {0, -1, 0});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.gatherStandardize(a[0], a[1], a[2], a[3], a[4], a[5], start, batch, features, plane));
        assertTrue(e.getMessage().contains("indices[1] = -1 outside 0..3"), e.getMessage());
    }

    @Test
    void freedBuffersAndWrongTypesFailLoudly() {
        Buffer f = be.alloc(DType.F32, 4), i = be.alloc(DType.I32, 4), b = be.alloc(DType.U8, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.upload(i, new float[4]));
        assertTrue(e.getMessage().contains("is I32, expected F32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.upload(f, new int[4]));
        assertTrue(e.getMessage().contains("is F32, expected I32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> be.upload(i, new byte[4]));
        assertTrue(e.getMessage().contains("is I32, expected U8"), e.getMessage());
        for (Buffer x : new Buffer[] {f, i, b}) {
            Buffer view = x.slice(1, 2);
            be.free(x);
            IllegalStateException s = assertThrows(IllegalStateException.class, () -> {
                if (view.dtype() == DType.F32) be.download(new float[2], view);
                else if (view.dtype() == DType.I32) be.download(new int[2], view);
                else be.upload(view, new byte[2]);
            });
            assertTrue(s.getMessage().contains("used after free"), "a view of a freed " + x.dtype() + " buffer: " + s.getMessage());
        }
    }

    @Test
    void nullRequiredBufferIsNamed() {
        Buffer x = be.alloc(DType.F32, 6), w = be.alloc(DType.F32, 6), y = be.alloc(DType.F32, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> be.linearForward(y, x, null, null, 2, 3, 2, false));
        assertEquals("linearForward w: buffer is null", e.getMessage());
        assertDoesNotThrow(() -> be.linearForward(y, x, w, null, 2, 3, 2, false));
    }

    @Test
    void transfersAllocationAndCopyAreChecked() {
        Buffer v = be.alloc(DType.F32, 8).slice(2, 3);
        assertThrows(IllegalArgumentException.class, () -> be.upload(v, new float[4]));
        assertThrows(IllegalArgumentException.class, () -> be.download(new float[4], v));
        Buffer iv = be.alloc(DType.I32, 8).slice(1, 2);
        assertThrows(IllegalArgumentException.class, () -> be.upload(iv, new int[3]));
        assertThrows(IllegalArgumentException.class, () -> be.download(new int[3], iv));
        Buffer bv = be.alloc(DType.U8, 8).slice(1, 2);
        assertThrows(IllegalArgumentException.class, () -> be.upload(bv, new byte[3]));
        // exactly fitting transfers land at the view's offset and nowhere else
        Buffer all = be.alloc(DType.F32, 6);
        be.fill(all, -1f);
        be.upload(all.slice(2, 3), new float[] {1, 2, 3});
        float[] got = new float[6];
        be.download(got, all);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {-1, -1, 1, 2, 3, -1}, got);
        float[] part = new float[2];
        be.download(part, all.slice(3, 2));
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {2, 3}, part);
        Buffer ints = be.alloc(DType.I32, 5);
        be.upload(ints.slice(1, 3), new int[] {7, 8, 9});
        int[] gi = new int[5];
        be.download(gi, ints);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {0, 7, 8, 9, 0}, gi);
        // bytes copied, then read back through the one op that reads bytes (x = pixel / 255 with mean 0, invStd 1)
        Buffer bytes = be.alloc(DType.U8, 4), bytes2 = be.alloc(DType.U8, 4);
        be.upload(bytes.slice(1, 2), new byte[] {5, (byte) 255});
        be.copy(bytes2, bytes);
        Buffer px = be.alloc(DType.F32, 4), stats = be.alloc(DType.F32, 2), lab = be.alloc(DType.I32, 1);
        be.upload(stats, new float[] {0f, 1f});
        be.gatherStandardize(px, be.alloc(DType.I32, 1), bytes2, lab, be.alloc(DType.I32, 1), stats, 0, 1, 4, 4);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0f, 5 / 255f, 1f, 0f}, CpuTestSupport.download(be, px));
        Buffer f2 = be.alloc(DType.F32, 6);
        be.copy(f2, all);
        be.download(got, f2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {-1, -1, 1, 2, 3, -1}, got);
        Buffer i2 = be.alloc(DType.I32, 3);
        be.copy(i2, ints.slice(1, 3));
        int[] g3 = new int[3];
        be.download(g3, i2);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new int[] {7, 8, 9}, g3);
        assertThrows(IllegalArgumentException.class, () -> be.copy(be.alloc(DType.F32, 5), all));
        assertThrows(IllegalArgumentException.class, () -> be.copy(be.alloc(DType.I32, 6), all));
        assertThrows(IllegalArgumentException.class, () -> be.alloc(DType.F32, -1));
        assertThrows(IllegalArgumentException.class, () -> be.alloc(DType.F32, Integer.MAX_VALUE - 7L));
        assertDoesNotThrow(() -> be.alloc(DType.U8, 0));
        assertEquals("cpu", be.name());
        assertTrue(be.deviceName().startsWith("cpu: 1 thread, scalar"), be.deviceName());
        CpuBackend two = CpuBackend.scalar(2);
        assertTrue(two.deviceName().startsWith("cpu: 2 threads, scalar"), two.deviceName());
        two.close();
        // a closed backend has let its threads go: parallel work is refused, not queued on a dead pool
        assertThrows(java.util.concurrent.RejectedExecutionException.class,
                () -> two.parallel().forRange(1 << 20, 1, 1L << 20, (lo, hi, t) -> {}));
    }
}
