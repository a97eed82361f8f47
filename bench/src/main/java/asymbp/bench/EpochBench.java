package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.train.Trainer;
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
 * Whole-epoch training time: {@code Trainer.trainEpoch()} over the first {@code limit} training images
 * (the CLI's --limit; 0 = all 60,000), batch 64 (LeNet) or 128 (MLP), cpu backend. One epoch per
 * measured invocation; images/s = limit / score. The engine's epoch includes its per-epoch
 * bookkeeping (shuffle, summed loss and error), so this is the throughput a user of {@code train} sees.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class EpochBench {

    @Param({"lenet", "mlp"})
    public String model;

    @Param({"brsf"})
    public String mode;

    @Param({"sgd"})
    public String update;

    /** Training images per epoch; 0 keeps all 60,000 (an epoch then takes tens of seconds). */
    @Param({"12800"})
    public int limit;

    @Param({"synthetic"})
    public String data;

    Backend backend;
    Trainer trainer;

    @Setup(Level.Trial)
    public void setUp() {
        Dataset ds = BenchSupport.dataset(data);
        if (limit > 0) ds = ds.limitTrain(limit);
        backend = BenchSupport.openCpu();
        trainer = BenchSupport.trainer(backend, ds, model, mode, update, BenchSupport.defaultBatch(model));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        trainer.close();
        backend.close();
    }

    @Benchmark
    public Object epoch() {
        return trainer.trainEpoch();
    }
}
