package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import java.util.SplittableRandom;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * The plain-Java path (what a JVM without jdk.incubator.vector runs) and the Vector API path give the
 * same results within float tolerance, op by op, on shapes that exercise every blocking edge.
 */
class ScalarPathParityTest {

    /** Runs the same op on both backends and compares its outputs element by element. */
    private static void same(String what, Function<CpuBackend, float[]> op) {
        CpuBackend vector = new CpuBackend(), scalar = CpuBackend.scalar(2);
        try {
            assertTrue(vector.deviceName().contains("Vector API"), vector.deviceName());
            float[] v = op.apply(vector), s = op.apply(scalar);
            // The two paths sum products in different orders (fused vs separate multiply-add), so an element
            // that cancels to much less than its terms carries their rounding: elements under 1% of the
            // largest are held to an absolute 1e-6 of it, the rest to 1e-4 relative.
            double err = CpuTestSupport.maxRelError(s, v, 1e-2 * Math.max(1e-6, CpuTestSupport.maxAbs(v)));
            assertTrue(err < 1e-4, what + ": scalar and vector paths differ, max rel err " + err);
        } finally {
            vector.close();
            scalar.close();
        }
    }

    private static Buffer up(CpuBackend be, float[] a) {
        Buffer b = be.alloc(DType.F32, a.length);
        be.upload(b, a);
        return b;
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) n += p.length;
        float[] all = new float[n];
        n = 0;
        for (float[] p : parts) { System.arraycopy(p, 0, all, n, p.length); n += p.length; }
        return all;
    }

    @Test
    void linearForwardAndBackward() {
        SplittableRandom r = CpuTestSupport.random("ScalarPathParityTest.linear");
        int batch = 37, in = 300, out = 70;
        float[] x = CpuTestSupport.uniform(r, batch * in, -1, 1), w = CpuTestSupport.uniform(r, out * in, -1, 1),
                b = CpuTestSupport.uniform(r, out, -1, 1), dy = CpuTestSupport.uniform(r, batch * out, -1, 1);
        same("linearForward", be -> {
            Buffer y = be.alloc(DType.F32, batch * out);
            be.linearForward(y, up(be, x), up(be, w), up(be, b), batch, in, out, true);
            return CpuTestSupport.download(be, y);
        });
        for (FeedbackMode m : FeedbackMode.kernelModes()) {
            Feedback fb = new Feedback(m, 1.5f, 0.25f, 0.2f, r.nextBoolean(), r.nextLong(), 2, 9);
            same("linearBackward " + m, be -> {
                Buffer dx = be.alloc(DType.F32, batch * in), dw = be.alloc(DType.F32, out * in), db = be.alloc(DType.F32, out);
                // dy doubles as the ReLU output y: its sign pattern is the mask
                be.linearBackward(dx, dw, db, up(be, dy), up(be, dy), up(be, x), up(be, w), fb, batch, in, out);
                return concat(CpuTestSupport.download(be, dx), CpuTestSupport.download(be, dw), CpuTestSupport.download(be, db));
            });
        }
    }

    @Test
    void convolutionForwardAndBackward() {
        SplittableRandom r = CpuTestSupport.random("ScalarPathParityTest.conv");
        for (ConvShape s : new ConvShape[] {new ConvShape(3, 3, 13, 11, 7, 5, 5, 1, 2), new ConvShape(2, 5, 9, 9, 6, 3, 3, 2, 1)}) {
            int xn = (int) (s.batch() * s.inSize()), yn = (int) (s.batch() * s.outSize()), wn = (int) s.weightSize();
            float[] x = CpuTestSupport.uniform(r, xn, -1, 1), w = CpuTestSupport.uniform(r, wn, -1, 1),
                    b = CpuTestSupport.uniform(r, s.outC(), -1, 1), dy = CpuTestSupport.uniform(r, yn, -1, 1);
            same("conv2dForward " + s, be -> {
                Buffer y = be.alloc(DType.F32, yn);
                be.conv2dForward(y, up(be, x), up(be, w), up(be, b), s, true);
                return CpuTestSupport.download(be, y);
            });
            for (FeedbackMode m : FeedbackMode.kernelModes()) {
                Feedback fb = new Feedback(m, 0.7f, 0.5f, 0.3f, r.nextBoolean(), r.nextLong(), 1, 4);
                same("conv2dBackward " + m + " " + s, be -> {
                    Buffer dx = be.alloc(DType.F32, xn), dw = be.alloc(DType.F32, wn), db = be.alloc(DType.F32, s.outC());
                    be.conv2dBackward(dx, dw, db, up(be, dy), up(be, dy), up(be, x), up(be, w), fb, s);
                    return concat(CpuTestSupport.download(be, dx), CpuTestSupport.download(be, dw), CpuTestSupport.download(be, db));
                });
            }
        }
    }

    @Test
    void batchNormForwardAndBackward() {
        SplittableRandom r = CpuTestSupport.random("ScalarPathParityTest.batchnorm");
        // channel counts and segment lengths that are not multiples of the 16 vector lanes
        for (int[] shape : new int[][] {{9, 37, 1}, {5, 3, 37}, {4, 20, 16}}) {
            int batch = shape[0], channels = shape[1], spatial = shape[2], n = batch * channels * spatial;
            float[] x = CpuTestSupport.uniform(r, n, -2, 2), dy = CpuTestSupport.uniform(r, n, -1, 1),
                    gamma = CpuTestSupport.uniform(r, channels, 0.5, 1.5), beta = CpuTestSupport.uniform(r, channels, -0.5, 0.5);
            for (boolean relu : new boolean[] {false, true})
                same("batchnorm " + batch + "x" + channels + "x" + spatial + " relu=" + relu, be -> {
                    Buffer y = be.alloc(DType.F32, n), mean = be.alloc(DType.F32, channels), inv = be.alloc(DType.F32, channels);
                    Buffer rm = be.alloc(DType.F32, channels), rv = be.alloc(DType.F32, channels);
                    be.fill(rm, 0f);
                    be.fill(rv, 1f);
                    Buffer xb = up(be, x), gb = up(be, gamma);
                    be.batchnormForward(y, mean, inv, rm, rv, xb, gb, up(be, beta), batch, channels, spatial, true, 0.1f, 1e-5f, relu);
                    Buffer dx = be.alloc(DType.F32, n), dg = be.alloc(DType.F32, channels), db = be.alloc(DType.F32, channels);
                    be.batchnormBackward(dx, dg, db, up(be, dy), relu ? y : null, xb, mean, inv, gb, batch, channels, spatial);
                    return concat(CpuTestSupport.download(be, y), CpuTestSupport.download(be, rm), CpuTestSupport.download(be, rv),
                            CpuTestSupport.download(be, dx), CpuTestSupport.download(be, dg), CpuTestSupport.download(be, db));
                });
        }
    }

    @Test
    void deterministicAcrossRuns() {
        // Same inputs, same backend, twice: bit-identical (no races between the two threads).
        SplittableRandom r = CpuTestSupport.random("ScalarPathParityTest.deterministic");
        ConvShape s = new ConvShape(8, 6, 14, 14, 16, 5, 5, 1, 0);
        int xn = (int) (s.batch() * s.inSize()), yn = (int) (s.batch() * s.outSize()), wn = (int) s.weightSize();
        float[] x = CpuTestSupport.uniform(r, xn, -1, 1), w = CpuTestSupport.uniform(r, wn, -1, 1), dy = CpuTestSupport.uniform(r, yn, -1, 1);
        Feedback fb = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 3L, 1, 2);
        try (CpuBackend be = new CpuBackend()) {
            float[][] runs = new float[2][];
            for (int i = 0; i < 2; i++) {
                Buffer dx = be.alloc(DType.F32, xn), dw = be.alloc(DType.F32, wn);
                be.conv2dBackward(dx, dw, null, up(be, dy), null, up(be, x), up(be, w), fb, s);
                runs[i] = concat(CpuTestSupport.download(be, dx), CpuTestSupport.download(be, dw));
            }
            assertArrayEquals(runs[0], runs[1]);
        }
    }
}
