package asymbp.opencl;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DeviceBackend;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.conformance.DeviceBackends;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The OpenCL backend has two kinds of linear products (direct for CPU devices, local-memory tiles for
 * GPUs; dx through V: a V-in-local-memory column kernel vs the tiles); the conformance suite runs whichever
 * the device picks, this test runs both on this device
 * against each other and against a double-precision reference, at odd and real shapes.
 */
class OpenClProductVariantsTest {

    @Test
    void directAndTiledLinearProductsAgree() throws Exception {
        long seed = DeviceBackends.seed("OpenClProductVariantsTest");
        try (Backend probe = DeviceBackends.openOrSkip("opencl")) {
            // the probe proved a device is there; open both variants on it
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        try (DeviceBackend direct = DeviceBackend.open(new ClDevice(ClDevices.pick(0)));
             DeviceBackend tiled = DeviceBackend.open(new ClDevice(ClDevices.pick(0)))) {
            direct.directProducts(true);
            tiled.directProducts(false);
            int[][] shapes = {{37, 75, 53}, {1, 1, 1}, {3, 130, 9}, {64, 400, 120}, {128, 784, 1024}, {5, 17, 300}};
            for (int[] sh : shapes) {
                int batch = sh[0], in = sh[1], out = sh[2];
                float[] x = gauss(rnd, batch * in), w = gauss(rnd, out * in), b = gauss(rnd, out), dy = gauss(rnd, batch * out);
                float[] y = gauss(rnd, batch * out);
                for (int i = 0; i < y.length; i++) y[i] = Math.max(0, y[i]);
                Feedback fb = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, rnd.nextLong(), 2, 5);
                // dfa's projection e·B (dy as e, out as classes) runs the same dx products with a zero W
                Feedback b0 = new Feedback(FeedbackMode.FA, 1f, 1f, 0.1f, false, rnd.nextLong(), 3, 0, rnd.nextBoolean());
                float[][] fwd = new float[2][], dW = new float[2][], dX = new float[2][], dB = new float[2][], proj = new float[2][];
                DeviceBackend[] both = {direct, tiled};
                for (int v = 0; v < 2; v++) {
                    DeviceBackend be = both[v];
                    Buffer bx = up(be, x), bw = up(be, w), bb = up(be, b), bdy = up(be, dy), by = up(be, y);
                    Buffer out1 = nan(be, batch * out), bdw = nan(be, out * in), bdx = nan(be, batch * in), bdb = nan(be, out);
                    be.linearForward(out1, bx, bw, bb, batch, in, out, true);
                    be.linearBackward(bdx, bdw, bdb, bdy, by, bx, bw, fb, batch, in, out);
                    fwd[v] = down(be, out1); dW[v] = down(be, bdw); dX[v] = down(be, bdx); dB[v] = down(be, bdb);
                    Buffer bp = nan(be, batch * in);
                    be.feedbackProject(bp, bdy, b0, batch, out, in);
                    proj[v] = down(be, bp);
                }
                String at = batch + "x" + in + "->" + out;
                // direct and tiled sum in the same order up to where the two-level sums fold
                assertClose("forward " + at, fwd[0], fwd[1]);
                assertClose("dW " + at, dW[0], dW[1]);
                assertClose("dx " + at, dX[0], dX[1]);
                assertArrayEquals(dB[0], dB[1], "db " + at);
                assertClose("feedbackProject " + (b0.uniformB() ? "uniform " : "normal ") + at, proj[0], proj[1]);
                // and the forward against double precision
                for (int m = 0; m < Math.min(batch, 4); m++)
                    for (int n = 0; n < out; n++) {
                        double s = b[n], mag = Math.abs(b[n]);
                        for (int k = 0; k < in; k++) {
                            s += (double) x[m * in + k] * w[n * in + k];
                            mag += Math.abs((double) x[m * in + k] * w[n * in + k]);
                        }
                        double want = Math.max(0, s);
                        // float32 dot-product error scales with Σ|terms| (random-sign terms cancel)
                        assertEquals(want, fwd[0][m * out + n], 2e-6 * mag, "forward " + at + " (" + m + "," + n + ")");
                    }
            }
        }
    }

    private static void assertClose(String what, float[] a, float[] b) {
        for (int i = 0; i < a.length; i++) {
            int at = i;
            assertTrue(Float.isFinite(a[i]) && Float.isFinite(b[i]), () -> what + ": element " + at + " unwritten");
            assertTrue(Math.abs(a[i] - b[i]) <= 1e-5 * Math.max(1, Math.abs(b[i])), () -> what + ": element " + at + " direct "
                    + a[at] + ", tiled " + b[at]);
        }
    }

    private static float[] gauss(SplittableRandom r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    private static Buffer up(Backend be, float[] v) {
        Buffer b = be.alloc(DType.F32, v.length + 5L).slice(5, v.length);
        be.upload(b, v);
        return b;
    }

    private static Buffer nan(Backend be, int n) {
        Buffer b = be.alloc(DType.F32, n + 3L).slice(3, n);
        be.fill(b, Float.NaN);
        return b;
    }

    private static float[] down(Backend be, Buffer b) {
        float[] v = new float[(int) b.length()];
        be.download(v, b);
        return v;
    }
}
