package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
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
 * The matrix product kernel (linearForward: y = x·Wᵀ + b, ReLU) on the OpenCL backend next to the cpu
 * backend in the same run, at the LeNet and MLP shapes. Primary score: products per second; the
 * {@code mflop} counter: MFLOP/s (2·batch·in·out per product), i.e. GFLOP/s × 1000.
 * Validates first: the OpenCL result must match the cpu backend's (relative error ≤ 1e-4).
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/asymbp.jar org.openjdk.jmh.Main OpenClProductBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx2g"})
public class OpenClProductBench {

    /** batch x in x out: LeNet fc1/fc2, the MLP's first and hidden layers at batch 128, a 1024 cube. */
    @Param({"64x400x120", "64x120x84", "128x784x1024", "128x1024x1024", "1024x1024x1024"})
    public String shape;

    @Param({"opencl", "cpu"})
    public String backend;

    Backend be;
    Buffer x, w, b, y;
    int batch, in, out;

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Flops {
        public long mflop;
        double pending;
        @Setup(Level.Iteration) public void reset() { mflop = 0; pending = 0; }
        void add(double flop) {
            pending += flop * 1e-6;
            long whole = (long) pending;
            mflop += whole;
            pending -= whole;
        }
    }

    @Setup(Level.Trial)
    public void setUp() throws BackendUnavailableException {
        String[] p = shape.split("x");
        batch = Integer.parseInt(p[0]);
        in = Integer.parseInt(p[1]);
        out = Integer.parseInt(p[2]);
        be = Backends.provider(backend).open(0);
        SplittableRandom r = new SplittableRandom(1);
        float[] xs = new float[batch * in], ws = new float[out * in], bs = new float[out];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
        for (int i = 0; i < ws.length; i++) ws[i] = (float) (r.nextGaussian() / Math.sqrt(in));
        for (int i = 0; i < bs.length; i++) bs[i] = (float) r.nextGaussian() * 0.1f;
        x = be.alloc(DType.F32, xs.length);
        w = be.alloc(DType.F32, ws.length);
        b = be.alloc(DType.F32, bs.length);
        y = be.alloc(DType.F32, (long) batch * out);
        be.upload(x, xs);
        be.upload(w, ws);
        be.upload(b, bs);
        validate(xs, ws, bs);
    }

    /** The timed kernel must be right: compare with a double-precision product. */
    private void validate(float[] xs, float[] ws, float[] bs) {
        be.fill(y, Float.NaN);
        be.linearForward(y, x, w, b, batch, in, out, true);
        float[] got = new float[batch * out];
        be.download(got, y);
        int rows = Math.min(batch, 8);
        for (int m = 0; m < rows; m++)
            for (int n = 0; n < out; n++) {
                double s = bs[n];
                for (int k = 0; k < in; k++) s += (double) xs[m * in + k] * ws[n * in + k];
                double want = Math.max(0, s), err = Math.abs(got[m * out + n] - want) / Math.max(Math.abs(want), 1e-2);
                if (!(err <= 1e-4))
                    throw new IllegalStateException(backend + " linearForward " + shape + " wrong at (" + m + "," + n
                            + "): " + got[m * out + n] + " vs " + want);
            }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        be.close();
    }

    @Benchmark
    public void product(Flops f) {
        be.linearForward(y, x, w, b, batch, in, out, true);
        be.sync();
        f.add(2.0 * batch * in * out);
    }
}
