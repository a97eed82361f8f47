package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The cpu backend's matrix product, y = x·Wᵀ (linearForward without bias or ReLU), at the shapes the
 * two benchmark models use and at 1024³. The {@code gflop} counter is the product's rate in GFLOP/s
 * (2·M·N·K per call); the primary score is calls per second.
 *
 * <p>Shapes are M×K×N: M rows of x (batch, or batch·outH·outW for a convolution's im2col product),
 * K the inner size, N the outputs.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
public class SgemmBench {

    /** M x K x N. the MLP's first and hidden layers at b128; LeNet's conv1 and conv2 as im2col products and fc1 at b64; 1024³. */
    @Param({"128x784x1024", "128x1024x1024", "50176x25x6", "6400x150x16", "64x400x120", "1024x1024x1024"})
    public String shape;

    Backend backend;
    Buffer y, x, w;
    int m, k, n;

    /** GFLOP counted per call; JMH divides by the measured time, giving GFLOP/s. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Flops {
        public double gflop;
        @Setup(Level.Iteration) public void reset() { gflop = 0; }
    }

    @Setup(Level.Trial)
    public void setUp() {
        String[] p = shape.split("x");
        m = Integer.parseInt(p[0]);
        k = Integer.parseInt(p[1]);
        n = Integer.parseInt(p[2]);
        backend = BenchSupport.openCpu();
        x = backend.alloc(DType.F32, (long) m * k);
        w = backend.alloc(DType.F32, (long) n * k);
        y = backend.alloc(DType.F32, (long) m * n);
        backend.upload(x, random(m * k, 1));
        backend.upload(w, random(n * k, 2));
        checkProduct(backend, y, x, w, m, k, n);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public void product(Flops f) {
        backend.linearForward(y, x, w, null, m, k, n, false);
        backend.sync();
        f.gflop += 2e-9 * m * n * k;
    }

    static float[] random(int len, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] a = new float[len];
        for (int i = 0; i < len; i++) a[i] = (float) (r.nextDouble() * 2 - 1);
        return a;
    }

    /** Validate before timing: 200 sampled outputs against a double-precision dot product. */
    static void checkProduct(Backend backend, Buffer y, Buffer x, Buffer w, int m, int k, int n) {
        backend.fill(y, Float.NaN);
        backend.linearForward(y, x, w, null, m, k, n, false);
        float[] got = new float[m * n];
        backend.download(got, y);
        float[] xs = random(m * k, 1), ws = random(n * k, 2);
        SplittableRandom pick = new SplittableRandom(3);
        for (int t = 0; t < 200; t++) {
            int i = pick.nextInt(m), j = pick.nextInt(n);
            double ref = 0, mag = 0;
            for (int q = 0; q < k; q++) {
                ref += (double) xs[i * k + q] * ws[j * k + q];
                mag += Math.abs((double) xs[i * k + q] * ws[j * k + q]);
            }
            double err = Math.abs(got[i * n + j] - ref) / Math.max(mag, 1e-30);
            if (!(err < 1e-5))
                throw new IllegalStateException("linearForward " + m + "x" + k + "x" + n + " wrong at (" + i + ","
                        + j + "): " + got[i * n + j] + " vs " + ref);
        }
    }
}
