package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;

import java.util.SplittableRandom;

/** What the benchmarks open: a backend (the cpu one unless named) and a dataset (MNIST, or MNIST-shaped noise). */
final class BenchSupport {
    private BenchSupport() {}

    static Backend openCpu() { return open("cpu"); }

    static Backend open(String backend) {
        try {
            return Backends.provider(backend).open(0);
        } catch (BackendUnavailableException e) {
            throw new IllegalStateException(backend + " backend: " + e.getMessage(), e);
        }
    }

    /**
     * {@code "synthetic"}: 60,000 training and 10,000 test images of uniform noise, 1×28×28, ten
     * classes — the same shapes and the same work per step as MNIST, without needing the data files.
     * Anything else goes to {@link Datasets#load}.
     */
    static Dataset dataset(String spec) {
        if (!"synthetic".equals(spec)) return Datasets.load(spec);
        SplittableRandom rnd = new SplittableRandom(1);
        int train = 60_000, test = 10_000, f = 28 * 28;
        byte[] trainImages = new byte[train * f], testImages = new byte[test * f];
        for (int i = 0; i < trainImages.length; i++) trainImages[i] = (byte) rnd.nextInt(256);
        for (int i = 0; i < testImages.length; i++) testImages[i] = (byte) rnd.nextInt(256);
        int[] trainLabels = rnd.ints(train, 0, 10).toArray(), testLabels = rnd.ints(test, 0, 10).toArray();
        return new Dataset("synthetic", 1, 28, 28, 10, trainImages, trainLabels, testImages, testLabels);
    }

    /** The batch the throughput targets use: 64 for LeNet, 128 for the MLP. */
    static int defaultBatch(String model) {
        return model.startsWith("mlp") ? 128 : 64;
    }

    /** "mlp" is shorthand for the benchmark MLP, 784-1024-1024-1024-10 with BN. */
    static String modelSpec(String model) {
        return "mlp".equals(model) ? "mlp:1024-1024-1024" : model;
    }

    /**
     * A Trainer on {@code backend} for one benchmark configuration: BN on, SGD or BM with lr 0.01, momentum
     * 0.9, no weight decay (as bench/pytorch/train_bench.py), the engine's defaults for everything else.
     */
    static Trainer trainer(Backend backend, Dataset data, String model, String mode, String update, int batch) {
        TrainConfig cfg = TrainConfig.defaults()
                .withModel(modelSpec(model))
                .withFeedback(mode)
                .withUpdate(update)
                .withBatch(batch)
                .withLr(0.01)
                .withMomentum(0.9)
                .withWeightDecay(0.0)
                .withBackend(backend.name());
        cfg.validate();
        return new Trainer(backend, data, cfg);
    }
}
