package asymbp.conformance;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.train.EpochStats;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The default experiment (LeNet+BN, brSF, Batch Manhattan) on real MNIST, one epoch over the first
 * 10,000 training images, on each device backend and on the CPU oracle from the same seed: the device
 * must learn, and reach the CPU backend's test error within noise.
 */
class MnistDeviceTrainingTest {

    static Iterable<String> backends() { return DeviceBackends.NAMES; }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void deviceLearnsMnistLikeTheCpuBackend(String name) {
        Dataset mnist = Datasets.load("mnist");
        TrainConfig cfg = TrainConfig.defaults().withLimit(10000).withEpochs(1).withQuiet(true);
        double[] err = new double[2];
        double[] loss = new double[2];
        String[] names = {name, "cpu"};
        for (int i = 0; i < 2; i++) {
            try (Backend be = i == 0 ? DeviceBackends.openOrSkip(name) : DeviceBackends.cpu();
                 Trainer t = new Trainer(be, mnist, cfg.withBackend(names[i]))) {
                EpochStats s = t.trainEpoch();
                assertFalse(s.diverged(), names[i] + " diverged");
                loss[i] = s.loss();
                err[i] = t.testError();
                System.out.printf("MNIST --limit 10000, 1 epoch, lenet+bn brsf on %s: loss %.4f, test error %.2f%%, %.0f img/s%n",
                        names[i], loss[i], err[i], s.imagesPerSecond());
                // The versions each op ran are what result.json reports: every op of a LeNet step on a device.
                var versions = t.resolved().kernelVersions();
                System.out.println(names[i] + " kernel versions: " + versions);
                if (i == 0)
                    assertTrue(versions.keySet().containsAll(java.util.List.of("gather_standardize", "conv2d_forward",
                            "conv2d_backward", "batchnorm_forward", "batchnorm_backward", "maxpool_forward", "maxpool_backward",
                            "linear_forward", "linear_backward", "softmax_cross_entropy", "apply_update")), name + ": " + versions);
                else assertTrue(versions.isEmpty(), "the cpu backend runs no device kernels: " + versions);
            }
        }
        assertTrue(err[0] <= 8.0, name + " test error " + err[0] + "% > 8%");
        // Same seed, same data order, same initial weights: the runs differ only by float rounding.
        assertEquals(err[1], err[0], 1.0, name + " vs cpu test error (percentage points)");
        assertEquals(loss[1], loss[0], 0.02 * loss[1], name + " vs cpu epoch loss");
    }
}
