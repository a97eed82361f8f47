package asymbp.cpu;

import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.rng.Philox;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * V generation on one thread, in elements per microsecond. Rows of 256: the run the backward GEMM asks
 * for at the MLP's 1024-wide layers on two threads; 64 rows per call.
 *
 * <ul>
 *   <li>{@code words}: the Philox blocks alone ({@code word0}: word 0, what brsf's uniform M needs;
 *       {@code all}: four words, for |N(0,1)|), by {@code impl} = scalar ({@link Philox#block}),
 *       vector (the engine's {@link VectorPhilox}) or folded (the candidate {@link VectorPhiloxFolded}).
 *   <li>{@code fill}: whole brsf V rows, {@link FeedbackRow} (scalar) against {@link VectorFeedbackRow}
 *       ({@code -p impl=scalar,vector}; impl=folded fails on purpose).
 * </ul>
 * Each parameter set runs in its own JVM, so one implementation's profile does not shape another's code.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector"})
public class PhiloxBench {
    static final int ROW = 256, ROWS = 64;

    @Param({"scalar", "vector", "folded"})
    public String impl;

    @Param({"word0", "all"})
    public String words;

    int[] w0 = new int[ROW], w1 = new int[ROW], w2 = new int[ROW], w3 = new int[ROW];
    final int[] block = new int[4];
    float[] w, dst = new float[ROW];
    FeedbackRow row;
    Feedback fb;
    long seed = 0x5EEDF00DL;
    int step;

    @Setup
    public void setUp() {
        SplittableRandom r = new SplittableRandom(7);
        w = new float[ROW * ROWS];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextDouble() - 0.5f;
        boolean halfNormal = words.equals("all");
        fb = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, halfNormal, seed, 2, 0);
        row = impl.equals("scalar") ? new FeedbackRow() : impl.equals("vector") ? new VectorFeedbackRow() : null;
    }

    @Benchmark
    @OperationsPerInvocation(ROW * ROWS)
    public int words() {
        int s = step++, acc = 0;
        boolean all = words.equals("all");
        for (int k = 0; k < ROWS; k++) {
            long index0 = (long) k * 1024;
            switch (impl) {
                case "scalar":
                    for (int j = 0; j < ROW; j++) {
                        Philox.block(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 2, s, index0 + j, block);
                        w0[j] = block[0];
                        if (all) { w1[j] = block[1]; w2[j] = block[2]; w3[j] = block[3]; }
                    }
                    break;
                case "folded":
                    if (all) VectorPhiloxFolded.words(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 2, s, index0, ROW, w0, w1, w2, w3);
                    else VectorPhiloxFolded.words(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 2, s, index0, ROW, w0, null, null, null);
                    break;
                default:
                    if (all) VectorPhilox.words(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 2, s, index0, ROW, w0, w1, w2, w3);
                    else VectorPhilox.words(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 2, s, index0, ROW, w0, null, null, null);
            }
            acc += w0[k & (ROW - 1)];
        }
        return acc;
    }

    /** brsf V rows: uniform magnitudes for words = word0, half-normal for all. scalar and vector only. */
    @Benchmark
    @OperationsPerInvocation(ROW * ROWS)
    public float fill() {
        if (row == null) throw new IllegalStateException("fill has no folded variant: run it with -p impl=scalar,vector");
        Feedback f = fb.atStep(step++);
        float acc = 0f;
        for (int k = 0; k < ROWS; k++) {
            row.fill(f, w, k * ROW, (long) k * 1024, ROW, dst, 0);
            acc += dst[k & (ROW - 1)];
        }
        return acc;
    }
}
