package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.train.Trainer;
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

import java.util.concurrent.TimeUnit;

/**
 * One training step (gather, forward, loss, asymmetric backward, update, loss read back) of LeNet+BN at
 * batch 64 or the MLP 784-1024-1024-1024-10+BN at batch 128, on the cpu backend (or {@code -p
 * backend=opencl,cpu}: a device next to the cpu backend in the same run). Primary score: steps per
 * second; the {@code images} counter: training images per second.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class TrainStepBench {

    @Param({"lenet", "mlp"})
    public String model;

    @Param({"bp", "brsf"})
    public String mode;

    @Param({"sgd"})
    public String update;

    @Param({"cpu"})
    public String backend;

    /** "synthetic" (MNIST-shaped noise) or a dataset spec such as "mnist". */
    @Param({"synthetic"})
    public String data;

    Backend be;
    Trainer trainer;
    int batch;

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Images {
        public long images;
        @Setup(Level.Iteration) public void reset() { images = 0; }
    }

    @Setup(Level.Trial)
    public void setUp() {
        Dataset ds = BenchSupport.dataset(data);
        batch = BenchSupport.defaultBatch(model);
        be = BenchSupport.open(backend);
        trainer = BenchSupport.trainer(be, ds, model, mode, update, batch);
        // Validate before timing: a few steps must give finite losses.
        for (int i = 0; i < 3; i++) {
            float loss = trainer.step();
            if (!Float.isFinite(loss)) throw new IllegalStateException(backend + " " + model + "/" + mode + ": loss " + loss);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        trainer.close();
        be.close();
    }

    @Benchmark
    public float step(Images counter) {
        float loss = trainer.step();
        counter.images += batch;
        return loss;
    }
}
