package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.train.TrainConfig;
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
 * One training step through the engine's Trainer (gather, forward, loss, asymmetric backward, update,
 * loss read back) on MNIST, OpenCL next to the cpu backend in the same run: LeNet+BN at batch 64 and
 * the MLP 784-1024-1024-1024-10+BN at batch 128, bp and brsf. Primary score: steps per second; the
 * {@code images} counter: training images per second. Validates first: 3 steps with finite losses.
 *
 * <pre>java --add-modules jdk.incubator.vector -cp target/asymbp.jar org.openjdk.jmh.Main OpenClTrainStepBench</pre>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 2, time = 3)
@Measurement(iterations = 3, time = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx3g"})
public class OpenClTrainStepBench {

    @Param({"lenet", "mlp"})
    public String model;

    @Param({"bp", "brsf"})
    public String mode;

    @Param({"opencl", "cpu"})
    public String backend;

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
    public void setUp() throws BackendUnavailableException {
        Dataset mnist = Datasets.load("mnist");
        boolean lenet = model.equals("lenet");
        batch = lenet ? 64 : 128;
        TrainConfig cfg = TrainConfig.defaults().withModel(lenet ? "lenet" : "mlp:1024-1024-1024").withBn(true)
                .withFeedback(mode).withBatch(batch).withLimit(20_000).withQuiet(true);
        be = Backends.provider(backend).open(0);
        trainer = new Trainer(be, mnist, cfg);
        trainer.setLog(s -> {});
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
