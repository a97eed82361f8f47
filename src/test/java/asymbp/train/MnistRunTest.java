package asymbp.train;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** A short real run: the default configuration (LeNet + BN, brSF) on the first 20 000 MNIST images. */
class MnistRunTest {

    @Test
    void lenetBnBrsfLearnsMnistInOneShortEpoch(@TempDir Path dir) throws Exception {
        Dataset mnist = Datasets.load("mnist");
        TrainConfig cfg = TrainConfig.defaults().withLimit(20000).withEpochs(1).withQuiet(true).withBackend("cpu");
        assertEquals("lenet", cfg.model());
        assertEquals("brsf", cfg.feedback());
        assertTrue(cfg.bn());
        try (Backend be = TestBackends.open("cpu"); Trainer t = new Trainer(be, mnist, cfg)) {
            RunResult r = t.run(dir);
            System.out.printf("MNIST --limit 20000, 1 epoch, lenet+bn brsf %s lr %g: test error %.2f%%, %.0f img/s, %.1f s%n",
                    cfg.update(), cfg.lr(), r.testError(), r.imagesPerSecond(), r.wallSeconds());
            assertFalse(r.diverged());
            assertTrue(r.testError() <= 4.0, "test error " + r.testError() + "% > 4%");
            for (LayerAlignment a : r.history().get(0).alignment())
                assertTrue(a.weightAngle() < 90 && a.errorAngle() < 90, "sign-concordant feedback must stay within 90°: " + a);
        }
    }
}
