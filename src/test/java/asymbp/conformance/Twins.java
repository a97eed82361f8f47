package asymbp.conformance;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The same inputs on a device backend and on the CPU oracle: every buffer is a pair, outputs are
 * poisoned with NaN (ints with a sentinel) on both before the op runs, and results are compared element
 * by element. Buffers are allocated as views at an odd offset inside a larger allocation, so every op
 * is also checked to honour {@link Buffer#offset()}.
 */
final class Twins implements AutoCloseable {
    /** Views start this many elements into their allocation (odd, so no op can assume alignment). */
    static final int SKEW = 3;
    static final int INT_POISON = 0x7fbadbad;

    final Backend dev, cpu;
    final SplittableRandom rnd;
    private final List<Buffer> allocs = new ArrayList<>();

    Twins(Backend dev, Backend cpu, long seed) {
        this.dev = dev;
        this.cpu = cpu;
        this.rnd = new SplittableRandom(seed);
    }

    /** A pair of views, one per backend. */
    record Twin(Buffer d, Buffer c, DType type, int n) {
        Buffer on(boolean device) { return device ? d : c; }
    }

    /** What an op needs to run on either side: pick each Twin's buffer for that side. */
    interface Side { Buffer of(Twin t); }
    interface Op { void run(Backend b, Side s); }

    private final List<Buffer> floatBases = new ArrayList<>();

    private Twin alloc(DType type, int n) {
        Buffer d0 = dev.alloc(type, n + 2L * SKEW), c0 = cpu.alloc(type, n + 2L * SKEW);
        allocs.add(d0);
        allocs.add(c0);
        if (type == DType.F32) {   // guard elements: NaN, and they must stay NaN (no op writes outside its view)
            float[] nan = new float[n + 2 * SKEW];
            java.util.Arrays.fill(nan, Float.NaN);
            dev.upload(d0, nan);
            floatBases.add(d0);
        }
        return new Twin(d0.slice(SKEW, n), c0.slice(SKEW, n), type, n);
    }

    /** Every F32 view's SKEW guard elements on each side are still NaN on the device. */
    void assertGuardsIntact() {
        for (Buffer b : floatBases) {
            float[] v = new float[(int) b.length()];
            dev.download(v, b);
            for (int i = 0; i < SKEW; i++) {
                int lo = i, hi = v.length - 1 - i;
                assertTrue(Float.isNaN(v[lo]) && Float.isNaN(v[hi]), () -> "a " + dev.name() + " op wrote outside its view "
                        + b + ": guard elements " + v[lo] + " / " + v[hi]);
            }
        }
    }

    Twin in(float[] v) {
        Twin t = alloc(DType.F32, v.length);
        dev.upload(t.d, v);
        cpu.upload(t.c, v);
        return t;
    }

    Twin in(int[] v) {
        Twin t = alloc(DType.I32, v.length);
        dev.upload(t.d, v);
        cpu.upload(t.c, v);
        return t;
    }

    Twin in(byte[] v) {
        Twin t = alloc(DType.U8, v.length);
        dev.upload(t.d, v);
        cpu.upload(t.c, v);
        return t;
    }

    /** An F32 output poisoned with NaN on both sides (the guard elements around it too). */
    Twin out(int n) {
        Twin t = alloc(DType.F32, n);
        float[] nan = new float[n];
        java.util.Arrays.fill(nan, Float.NaN);
        dev.upload(t.d, nan);
        cpu.upload(t.c, nan);
        return t;
    }

    Twin outInt(int n) {
        Twin t = alloc(DType.I32, n);
        int[] p = new int[n];
        java.util.Arrays.fill(p, INT_POISON);
        dev.upload(t.d, p);
        cpu.upload(t.c, p);
        return t;
    }

    void both(Op op) {
        op.run(dev, t -> t == null ? null : t.d);
        op.run(cpu, t -> t == null ? null : t.c);
        dev.sync();
        cpu.sync();
        assertGuardsIntact();
    }

    float[] gaussian(int n, double std) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rnd.nextGaussian() * std);
        return v;
    }

    /** Non-negative activations, as a ReLU (and pooling) feeds the next layer. */
    float[] activations(int n) {
        float[] v = gaussian(n, 1);
        for (int i = 0; i < n; i++) v[i] = Math.abs(v[i]);
        return v;
    }

    /**
     * Incoming gradients with a mean of {@code mean}: long reductions of zero-mean products have a
     * condition number near √n, so a 50 000-term float32 sum differs from the exact one by up to ~7e-5
     * on BOTH backends (measured: LeNet conv1 dW, cpu 6.8e-5, opencl 4.6e-5 against double) — a test of
     * the oracle's rounding, not of the kernel. A mean keeps the sums well conditioned.
     */
    float[] gradients(int n, double mean) {
        float[] v = gaussian(n, 1);
        for (int i = 0; i < n; i++) v[i] += (float) mean;
        return v;
    }

    /** Post-ReLU values: about half exact zeros. */
    float[] relu(int n) {
        float[] v = gaussian(n, 1);
        for (int i = 0; i < n; i++) v[i] = Math.max(0f, v[i]);
        return v;
    }

    float[] download(Twin t, boolean device) {
        float[] v = new float[t.n];
        (device ? dev : cpu).download(v, t.on(device));
        return v;
    }

    int[] downloadInt(Twin t, boolean device) {
        int[] v = new int[t.n];
        (device ? dev : cpu).download(v, t.on(device));
        return v;
    }

    /**
     * Every element: |a − b| / max(|b|, floor) ≤ bound, with floor = FLOOR·rms(b) (b the CPU oracle),
     * so values that cancel to nearly zero are judged against the tensor's own scale, not against 0.
     * Both sides must have written every element (no NaN left from the poisoning). Returns the worst error.
     */
    double assertClose(String what, Twin t, double bound) {
        float[] a = download(t, true), b = download(t, false);
        return Compare.assertClose(what + " on " + dev.name(), a, b, bound);
    }

    void assertEqualInts(String what, Twin t) {
        int[] a = downloadInt(t, true), b = downloadInt(t, false);
        for (int i = 0; i < a.length; i++) {
            assertNotEquals(INT_POISON, b[i], what + ": the cpu oracle left element " + i + " unwritten");
            int at = i;
            assertEquals(b[i], a[i], () -> what + " on " + dev.name() + ": element " + at + " differs");
        }
    }

    @Override public void close() {
        for (int i = 0; i < allocs.size(); i += 2) {
            dev.free(allocs.get(i));
            cpu.free(allocs.get(i + 1));
        }
        allocs.clear();
    }
}
