package asymbp.cuda;

import asymbp.backend.Backend;
import asymbp.backend.DeviceMemory;
import asymbp.conformance.DeviceBackends;
import asymbp.data.Dataset;
import asymbp.train.Synthetic;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * On a GPU: CudaDevice reports cuMemGetInfo's free memory, and a run it cannot hold (forced with the test
 * hook -Dasymbp.device.memory) is one line before any allocation. Skips, saying why, without a GPU.
 */
class CudaDeviceMemoryTest {

    @Test
    void aRunTheGpuCannotHoldIsRefusedInOneLine() throws Exception {
        try (Backend be = DeviceBackends.openOrSkip("cuda")) {
            Dataset data = Synthetic.dataset(1, 28, 28, 10, 1000, 200, DeviceBackends.seed("CudaDeviceMemoryTest"));
            TrainConfig cfg = TrainConfig.defaults().withModel("mlp:64").withBatch(100).withEpochs(1).withQuiet(true);
            DeviceMemory real = be.deviceMemory();
            System.out.println("cuda device memory: " + real);
            assertTrue(real.available() > 0 && real.largestAllocation() == real.available(), real.toString());
            try (Trainer t = new Trainer(be, data, cfg)) {
                assertTrue(Float.isFinite(t.step()), "with the GPU's real memory the run goes ahead");
            }
            System.setProperty(DeviceMemory.CAP, String.valueOf(1 << 20));
            try {
                String m = assertThrows(IllegalArgumentException.class, () -> new Trainer(be, data, cfg)).getMessage();
                System.out.println("refused: " + m);
                assertFalse(m.contains("\n"), m);
                for (String s : new String[] {"device memory", "lower --limit", "lower --batch", "cuMemGetInfo",
                        "capped by -Dasymbp.device.memory"})
                    assertTrue(m.contains(s), "'" + s + "' expected in: " + m);
            } finally {
                System.clearProperty(DeviceMemory.CAP);
            }
        }
    }
}
