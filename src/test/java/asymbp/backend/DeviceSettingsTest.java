package asymbp.backend;

import asymbp.data.Dataset;
import asymbp.train.Synthetic;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The shared plan takes an API's settings from its {@link Device} (which reads that API's properties), and
 * a run the device's memory cannot hold is refused in one line before anything is allocated; on a device
 * that records and computes nothing.
 */
class DeviceSettingsTest {

    /** Allocates addresses, runs nothing; its memory is what the test says. */
    static final class Fake implements Device {
        final DeviceMemory memory;
        long next = 1, allocated;

        Fake(DeviceMemory memory) { this.memory = memory; }

        @Override public String name() { return "fake"; }
        @Override public String description() { return "no device (nothing runs)"; }
        @Override public boolean tuned() { return false; }
        @Override public int units() { return 1; }
        @Override public boolean cpu() { return false; }
        @Override public DeviceMemory memory() { return memory; }
        @Override public Object alloc(long bytes) { allocated += bytes; return next++; }
        @Override public void free(Object handle) {}
        @Override public void upload(DeviceBuffer dst, Object array, int n) {}
        @Override public void download(Object array, int n, DeviceBuffer src) {}
        @Override public void fill(DeviceBuffer dst, float value) {}
        @Override public void copy(DeviceBuffer dst, DeviceBuffer src) {}
        @Override public void launch(Kernel kernel, int gx, int gy, int gz, int block, Object[] args) {}
        @Override public void sync() {}
        @Override public void close() {}
    }

    @Test
    void anotherApisPropertiesDoNotReachThePlan() throws Exception {
        Map<String, String> props = Map.of("asymbp.opencl.products", "direct", "asymbp.cuda.graph", "false");
        props.forEach(System::setProperty);
        try (DeviceBackend be = DeviceBackend.open(new Fake(null))) {
            assertFalse(be.directProducts(false), "a non-CPU device's own choice: tiles (the OpenCL property is ClDevice's)");
            assertTrue(be.graphs(true), "own replays allowed (the CUDA property is CudaDevice's)");
        } finally {
            props.keySet().forEach(System::clearProperty);
        }
    }

    private static final long MIB = 1 << 20;

    private static Dataset data() {
        long seed = Long.getLong("asymbp.seed", ThreadLocalRandom.current().nextLong(1, 1 << 20));
        System.out.println("DeviceSettingsTest: data seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        return Synthetic.dataset(1, 28, 28, 10, 2000, 500, seed); // 1.9 MiB of images and labels
    }

    private static TrainConfig cfg() {
        return TrainConfig.defaults().withModel("mlp:256").withBatch(500).withEpochs(1).withQuiet(true);
    }

    @Test
    void aRunTheDeviceCannotHoldIsOneLineNamingWhatToLower() throws Exception {
        Dataset data = data();
        Fake small = new Fake(DeviceMemory.of(2 * MIB, 2 * MIB, "the test's numbers"));
        try (DeviceBackend be = DeviceBackend.open(small)) {
            long before = small.allocated;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new Trainer(be, data, cfg()));
            String m = e.getMessage();
            System.out.println("refused: " + m);
            assertFalse(m.contains("\n"), m);
            for (String s : new String[] {"--model mlp:256", "--batch 500", "device memory", "--limit", "lower --batch",
                    "the device has 2.0 MiB", "the test's numbers"})
                assertTrue(m.contains(s), "'" + s + "' expected in: " + m);
            assertEquals(before, small.allocated, "refused before anything was allocated");
        }
        // Enough in all, but not in one buffer: the largest (the training images here) is named.
        Fake narrow = new Fake(DeviceMemory.of(1L << 40, MIB, "the test's numbers"));
        try (DeviceBackend be = DeviceBackend.open(narrow)) {
            String m = assertThrows(IllegalArgumentException.class, () -> new Trainer(be, data, cfg().withBatch(50))).getMessage();
            assertTrue(m.contains("largest buffer") && m.contains("training images") && m.contains("lower --limit")
                    && m.contains("at most 1.0 MiB"), m);
        }
        // Where the device has room, or cannot say, nothing is refused.
        for (DeviceMemory room : new DeviceMemory[] {DeviceMemory.of(1L << 40, 1L << 40, "plenty"), null})
            try (DeviceBackend be = DeviceBackend.open(new Fake(room)); Trainer t = new Trainer(be, data, cfg())) {
                assertEquals(4, t.stepsPerEpoch());
            }
    }

    @Test
    void theTestHookCapsWhatTheDeviceSays() {
        System.setProperty(DeviceMemory.CAP, "1000");
        try {
            DeviceMemory m = DeviceMemory.of(5000, 3000, "x");
            assertEquals(new DeviceMemory(1000, 1000, "x, capped by -Dasymbp.device.memory=1000"), m);
            assertEquals(500, DeviceMemory.of(500, 400, "x").available());
            System.setProperty(DeviceMemory.CAP, "lots");
            assertTrue(assertThrows(IllegalArgumentException.class, () -> DeviceMemory.of(1, 1, "x")).getMessage()
                    .contains("-Dasymbp.device.memory=lots"));
        } finally {
            System.clearProperty(DeviceMemory.CAP);
        }
        assertEquals(new DeviceMemory(5000, 3000, "x"), DeviceMemory.of(5000, 3000, "x"));
    }
}
