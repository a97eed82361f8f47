package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import java.util.SplittableRandom;

/** Shared helpers: a fresh seed per test (printed), random arrays, buffer round trips, comparisons. */
final class CpuTestSupport {
    private CpuTestSupport() {}

    /** A fresh random source; the seed is printed so a failure can be replayed with -Dasymbp.seed=... */
    static SplittableRandom random(String test) {
        long seed = Long.getLong("asymbp.seed", System.nanoTime() ^ Thread.currentThread().getId() * 0x9E3779B97F4A7C15L);
        System.out.println(test + ": seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        return new SplittableRandom(seed);
    }

    static float[] uniform(SplittableRandom r, int n, double lo, double hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return a;
    }

    static float[] normal(SplittableRandom r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) gaussian(r);
        return a;
    }

    static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** A buffer holding {@code a}, placed at a random offset inside a NaN-filled allocation (tests views). */
    static Buffer upload(CpuBackend be, float[] a, SplittableRandom r) {
        int pad = r.nextInt(5);
        Buffer all = be.alloc(DType.F32, a.length + pad + 3);
        be.fill(all, Float.NaN);
        Buffer v = all.slice(pad, a.length);
        be.upload(v, a);
        return v;
    }

    static Buffer uploadInts(CpuBackend be, int[] a) {
        Buffer b = be.alloc(DType.I32, Math.max(1, a.length));
        be.upload(b, a);
        return b;
    }

    /** An output view poisoned with NaN, so an element the op forgets to write shows. */
    static Buffer poisoned(CpuBackend be, int n, SplittableRandom r) {
        int pad = r.nextInt(5);
        Buffer all = be.alloc(DType.F32, n + pad + 3);
        be.fill(all, Float.NaN);
        return all.slice(pad, n);
    }

    static float[] download(CpuBackend be, Buffer b) {
        float[] a = new float[(int) b.length()];
        be.download(a, b);
        return a;
    }

    static int[] downloadInts(CpuBackend be, Buffer b) {
        int[] a = new int[(int) b.length()];
        be.download(a, b);
        return a;
    }

    /**
     * Largest element-wise relative error |got − want| / max(|want|, floor): floor keeps elements that are
     * (nearly) zero from dominating; a NaN anywhere gives +Inf.
     */
    static double maxRelError(float[] got, double[] want, double floor) {
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double e = Math.abs(got[i] - want[i]) / Math.max(Math.abs(want[i]), floor);
            if (!(e <= worst)) worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : Math.max(worst, e);
        }
        return worst;
    }

    static double maxRelError(float[] got, float[] want, double floor) {
        double[] w = new double[want.length];
        for (int i = 0; i < w.length; i++) w[i] = want[i];
        return maxRelError(got, w, floor);
    }

    static double maxAbs(double[] a) {
        double m = 0;
        for (double v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    /**
     * An array (float[], int[] or byte[]) in a new buffer of be: with r, floats and ints sit in views at a
     * random offset (floats NaN-padded, through {@link #upload}); without r, plainly.
     */
    static Buffer place(Backend be, Object a, SplittableRandom r) {
        if (a instanceof float[] f) {
            if (r == null) { Buffer b = be.alloc(DType.F32, f.length); be.upload(b, f); return b; }
            return upload((CpuBackend) be, f, r);
        }
        if (a instanceof int[] n) {
            int pad = r == null ? 0 : r.nextInt(4);
            Buffer b = be.alloc(DType.I32, n.length + pad).slice(pad, n.length);
            be.upload(b, n);
            return b;
        }
        byte[] n = (byte[]) a;
        Buffer b = be.alloc(DType.U8, n.length);
        be.upload(b, n);
        return b;
    }

    /**
     * Every buffer of c (on be) against the same one of q (on ref), shaped as data says: floats within
     * tol·max|reference| (NaN where the reference has NaN), ints exactly; byte[] and null entries are skipped.
     */
    static void assertSameBuffers(String what, Backend be, Buffer[] c, Backend ref, Buffer[] q, Object[] data, double tol) {
        for (int i = 0; i < data.length; i++) {
            if (data[i] instanceof float[] shape) {
                float[] got = new float[shape.length], want = got.clone();
                be.download(got, c[i]);
                ref.download(want, q[i]);
                double scale = Math.max(1e-30, maxAbs(want));
                for (int e = 0; e < got.length; e++) {
                    boolean bothNaN = Float.isNaN(got[e]) && Float.isNaN(want[e]);
                    if (!bothNaN && !(Math.abs(got[e] - want[e]) <= tol * scale))
                        fail(what + " on " + be.deviceName() + ": buffer " + i + "[" + e + "] = " + got[e] + ", reference " + want[e]);
                }
            } else if (data[i] instanceof int[] shape) {
                int[] got = new int[shape.length], want = got.clone();
                be.download(got, c[i]);
                ref.download(want, q[i]);
                assertArrayEquals(want, got, what + " on " + be.deviceName() + ": int buffer " + i);
            }
        }
    }

    static float[] nan(int n) {
        float[] a = new float[n];
        java.util.Arrays.fill(a, Float.NaN);
        return a;
    }
}
