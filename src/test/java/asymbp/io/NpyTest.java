package asymbp.io;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.model.ParamLayout;
import asymbp.train.ReferenceBackend;
import asymbp.train.Synthetic;
import asymbp.train.TrainConfig;
import asymbp.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

class NpyTest {

    @Test
    void headerBytesAreNumpyV1() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        float[] data = {1f, -2.5f, 3f, 0f, Float.MIN_VALUE, 7f};
        Npy.write(out, new int[] {2, 3}, data, 0, 6);
        byte[] b = out.toByteArray();
        assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, Arrays.copyOf(b, 8));
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        assertEquals(0, (10 + headerLen) % 64, "data must start 64-byte aligned");
        String header = new String(b, 10, headerLen, StandardCharsets.US_ASCII);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header.stripTrailing());
        assertEquals('\n', header.charAt(header.length() - 1));
        assertEquals(10 + headerLen + 24, b.length);
        ByteBuffer bb = ByteBuffer.wrap(b, 10 + headerLen, 24).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : data) assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(bb.getFloat()));
    }

    @Test
    void int64ScalarIsNumpyV1ZeroDimensional() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long value = 0x0102030405060708L;
        Npy.writeInt64(out, new int[0], new long[] {value});
        byte[] b = out.toByteArray();
        assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, Arrays.copyOf(b, 8));
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        assertEquals(0, (10 + headerLen) % 64, "data must start 64-byte aligned");
        String header = new String(b, 10, headerLen, StandardCharsets.US_ASCII);
        assertEquals("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", header.stripTrailing());
        assertEquals(10 + headerLen + 8, b.length);
        assertEquals(value, ByteBuffer.wrap(b, 10 + headerLen, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        assertEquals(8, b[10 + headerLen], "little-endian: the lowest byte first");
        assertThrows(IllegalArgumentException.class, () -> Npy.writeInt64(new ByteArrayOutputStream(), new int[] {2}, new long[] {1}));
    }

    @Test
    void oneDimensionalShapeHasTrailingComma() {
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", Npy.headerDict(new int[] {6}));
    }

    @Test
    void readErrorsNameFileAndExpectedAndFound(@TempDir Path dir) throws IOException {
        float[] dst = new float[6];
        WeightsException e = assertThrows(WeightsException.class, () -> Npy.read(dir.resolve("fc1.weight.npy"), new int[] {2, 3}, dst, 0));
        assertTrue(e.getMessage().contains("fc1.weight.npy") && e.getMessage().contains("missing")
                && e.getMessage().contains("(2, 3)"), e.getMessage());

        Path f = dir.resolve("w.npy");
        Npy.write(f, new int[] {3, 2}, new float[6], 0, 6);
        e = assertThrows(WeightsException.class, () -> Npy.read(f, new int[] {2, 3}, dst, 0));
        assertTrue(e.getMessage().contains("w.npy") && e.getMessage().contains("shape (3, 2)")
                && e.getMessage().contains("expected (2, 3)"), e.getMessage());

        byte[] bytes = Files.readAllBytes(f);
        String s = new String(bytes, StandardCharsets.ISO_8859_1).replace("'<f4'", "'<f8'");
        Files.write(f, s.getBytes(StandardCharsets.ISO_8859_1));
        e = assertThrows(WeightsException.class, () -> Npy.read(f, new int[] {3, 2}, dst, 0));
        assertTrue(e.getMessage().contains("w.npy") && e.getMessage().contains("<f8")
                && e.getMessage().contains("<f4"), e.getMessage());

        Files.write(f, "not numpy".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(WeightsException.class, () -> Npy.read(f, new int[] {3, 2}, dst, 0));
        assertTrue(e.getMessage().contains("w.npy"), e.getMessage());
    }

    @Test
    void exportThenInitRoundTripsEveryTensor(@TempDir Path dir) throws IOException {
        Dataset d = Synthetic.dataset(1, 16, 16, 4, 64, 16, 3);
        TrainConfig cfg = TrainConfig.defaults().withModel("lenet").withBatch(32).withQuiet(true).withSeed(5);
        float[] p, s;
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, d, cfg)) {
            t.trainEpoch();
            p = t.parameters();
            s = t.bnState();
            t.exportWeights(dir);
            for (ParamLayout.Entry e : t.net().params().entries()) assertTrue(Files.isRegularFile(dir.resolve(e.name() + ".npy")), e.name());
            assertTrue(Files.isRegularFile(dir.resolve("bn1.running_var.npy")));
            assertTrue(Files.isRegularFile(dir.resolve("conv1.weight.npy")));
            assertFalse(Files.exists(dir.resolve("conv1.bias.npy")), "a conv followed by BN has no bias");
            assertTrue(Files.isRegularFile(dir.resolve("fc5.bias.npy")));
            // What PyTorch needs besides: BN step counters, the input standardisation, the model
            byte[] nbt = Files.readAllBytes(dir.resolve("bn4.num_batches_tracked.npy"));
            assertEquals(t.steps(), ByteBuffer.wrap(nbt, nbt.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
            assertEquals(2, t.steps());
            float[] mean = new float[1], invStd = new float[1];
            Npy.read(dir.resolve("input_mean.npy"), new int[] {1}, mean, 0);
            Npy.read(dir.resolve("input_inv_std.npy"), new int[] {1}, invStd, 0);
            assertArrayEquals(d.meanInvStd(), new float[] {mean[0], invStd[0]});
            var model = Json.MAPPER.readTree(dir.resolve("model.json").toFile());
            assertEquals("lenet", model.get("model").asText());
            assertEquals(16, model.get("height").asInt());
            assertEquals(4, model.get("classes").asInt());
        }
        String hdr = new String(Files.readAllBytes(dir.resolve("conv2.weight.npy")), 10, 80, StandardCharsets.US_ASCII);
        assertTrue(hdr.contains("'shape': (16, 6, 5, 5)"), hdr);
        try (Backend be = new ReferenceBackend();
             Trainer t = new Trainer(be, d, cfg.withSeed(99).withInit(dir.toString()))) {
            assertArrayEquals(p, t.parameters());
            assertArrayEquals(s, t.bnState());
        }
        Files.delete(dir.resolve("fc4.weight.npy"));
        try (Backend be = new ReferenceBackend()) {
            WeightsException e = assertThrows(WeightsException.class, () -> new Trainer(be, d, cfg.withInit(dir.toString())));
            assertTrue(e.getMessage().contains("fc4.weight.npy") && e.getMessage().contains("(84, 120)"), e.getMessage());
        }
    }

    @Test
    void atomicWriteKeepsTheOldFileWhenTheWriterFails(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("c.bin");
        AtomicFiles.write(f, out -> out.write(new byte[] {1, 2, 3}));
        assertThrows(IOException.class, () -> AtomicFiles.write(f, out -> {
            out.write(new byte[] {9, 9});
            throw new IOException("disk full (simulated)");
        }));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(f));
        AtomicFiles.write(f, out -> out.write(new byte[] {4}));
        assertArrayEquals(new byte[] {4}, Files.readAllBytes(f));
        assertFalse(Files.exists(dir.resolve("c.bin.tmp")));
    }
}
