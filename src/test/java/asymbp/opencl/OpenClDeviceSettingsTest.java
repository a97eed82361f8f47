package asymbp.opencl;

import asymbp.backend.Backend;
import asymbp.backend.DeviceMemory;
import asymbp.cli.Main;
import asymbp.conformance.DeviceBackends;
import asymbp.data.Dataset;
import asymbp.train.Synthetic;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * On this machine's OpenCL device (pocl): ClDevice reads -Dasymbp.opencl.products itself, reports its
 * memory (CL_DEVICE_GLOBAL_MEM_SIZE, CL_DEVICE_MAX_MEM_ALLOC_SIZE), and a run that memory cannot hold (forced
 * with the test hook -Dasymbp.device.memory) is one line naming the flags to lower, before any allocation.
 */
class OpenClDeviceSettingsTest {

    @Test
    void theProductsPropertyIsReadByTheDevice() throws Exception {
        try (Backend probe = DeviceBackends.openOrSkip("opencl")) {
            // a device is there
        }
        ClDevice plain = new ClDevice(ClDevices.pick(0));
        try {
            assertEquals(plain.cpu(), plain.directProducts(), "auto: direct products on CPU devices");
        } finally {
            plain.close();
        }
        for (String v : new String[] {"direct", "tiled"}) {
            System.setProperty("asymbp.opencl.products", v);
            ClDevice d = new ClDevice(ClDevices.pick(0));
            try {
                assertEquals(v.equals("direct"), d.directProducts(), v);
            } finally {
                d.close();
                System.clearProperty("asymbp.opencl.products");
            }
        }
    }

    @Test
    void aRunTheDeviceCannotHoldIsRefusedInOneLine(@TempDir Path tmp) throws Exception {
        long seed = DeviceBackends.seed("OpenClDeviceSettingsTest");
        Dataset data = Synthetic.dataset(1, 28, 28, 10, 1000, 200, seed);
        TrainConfig cfg = TrainConfig.defaults().withModel("mlp:64").withBatch(100).withEpochs(1).withQuiet(true);
        try (Backend be = DeviceBackends.openOrSkip("opencl")) {
            DeviceMemory real = be.deviceMemory();
            System.out.println("opencl device memory: " + real);
            assertTrue(real.available() > 0 && real.largestAllocation() > 0
                    && real.largestAllocation() <= real.available(), real.toString());
            try (Trainer t = new Trainer(be, data, cfg)) {
                assertTrue(Float.isFinite(t.step()), "with the device's real memory the run goes ahead");
            }
            System.setProperty(DeviceMemory.CAP, String.valueOf(1 << 20));
            try {
                String m = assertThrows(IllegalArgumentException.class, () -> new Trainer(be, data, cfg)).getMessage();
                System.out.println("refused: " + m);
                assertFalse(m.contains("\n"), m);
                for (String s : new String[] {"needs", "device memory", "lower --limit", "lower --batch", "--model",
                        "the device has 1.0 MiB", "CL_DEVICE_GLOBAL_MEM_SIZE", "capped by -Dasymbp.device.memory"})
                    assertTrue(m.contains(s), "'" + s + "' expected in: " + m);
            } finally {
                System.clearProperty(DeviceMemory.CAP);
            }
        }
        // The command line: exit 2 (a bad value), one line, no run folder written.
        Path dataDir = Files.createDirectories(tmp.resolve("data"));
        writeIdx(dataDir, data);
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        System.setProperty(DeviceMemory.CAP, String.valueOf(1 << 20));
        int code;
        try {
            code = cl.execute("train", "--dataset", "idx:" + dataDir, "--model", "mlp:64", "--batch", "100", "--backend",
                    "opencl", "-q", "--out", tmp.resolve("run").toString());
        } finally {
            System.clearProperty(DeviceMemory.CAP);
        }
        String e = err.toString().strip();
        assertEquals(Main.USAGE, code, e);
        assertEquals(1, e.lines().filter(l -> l.startsWith("error: ")).count(), e);
        assertTrue(e.contains("device memory") && e.contains("--batch"), e);
        assertFalse(Files.exists(tmp.resolve("run").resolve("result.json")), "nothing trained");
    }

    /** The four IDX files of {@code d}. */
    private static void writeIdx(Path dir, Dataset d) throws Exception {
        Files.write(dir.resolve("train-images-idx3-ubyte"), images(d.trainCount(), d.trainImages()));
        Files.write(dir.resolve("train-labels-idx1-ubyte"), labels(d.trainLabels()));
        Files.write(dir.resolve("t10k-images-idx3-ubyte"), images(d.testCount(), d.testImages()));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), labels(d.testLabels()));
    }

    private static byte[] images(int n, byte[] pixels) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(16 + pixels.length);
        b.putInt(0x803).putInt(n).putInt(28).putInt(28).put(pixels);
        return b.array();
    }

    private static byte[] labels(int[] labels) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(8 + labels.length);
        b.putInt(0x801).putInt(labels.length);
        for (int l : labels) b.put((byte) l);
        return b.array();
    }
}
