package asymbp.train;

import asymbp.io.Json;
import asymbp.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link Checkpoint#readHeader} (header.json alone, through the archive's central directory) against
 * files damaged at each of its limits, the written bytes against an archive built independently, and
 * {@link Checkpoint#read}'s memory check and entry order.
 */
class CheckpointHeaderMutationTest {

    private static final long SEED = Long.getLong("asymbp.seed", System.nanoTime() & 0xffffff);
    static { System.out.println("CheckpointHeaderMutationTest seed " + SEED + " (replay with -Dasymbp.seed=" + SEED + ")"); }

    private static Checkpoint sample(Random r) {
        TrainConfig c = TrainConfig.defaults().withSeed(r.nextInt(1000)).withEpochs(4).withFeedback("dfa")
                .withFbScale(asymbp.model.FbScale.XAVIER);
        return CheckpointMutationTest.sample(r, c, 1 + r.nextInt(5000));
    }


    /** The entries Checkpoint writes for {@code c}, in its order. */
    private static Map<String, byte[]> entriesOf(Checkpoint c) throws IOException {
        Map<String, byte[]> npy = new LinkedHashMap<>(), out = new LinkedHashMap<>();
        Map<String, String> sha = new LinkedHashMap<>();
        npy.put("params.npy", Npy.bytes(c.params()));
        npy.put("velocity.npy", Npy.bytes(c.velocity()));
        npy.put("state.npy", Npy.bytes(c.state()));
        npy.forEach((k, v) -> sha.put(k, Checkpoint.sha256(v)));
        out.put("header.json", Json.MAPPER.writeValueAsBytes(new Checkpoint.Stored("asymbp-checkpoint", 2, c.header(), sha)));
        out.putAll(npy);
        return out;
    }

    private static String headerFails(Path file, byte[] content) throws IOException {
        Files.write(file, content);
        IOException e = assertThrows(IOException.class, () -> Checkpoint.readHeader(file));
        assertInstanceOf(Checkpoint.CorruptException.class, e, e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(file + ": "), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    /** Offset of the central directory's first entry (header.json's) in an archive written by {@link #zip}. */
    private static int centralEntry(byte[] z) {
        ByteBuffer b = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN);
        int eocd = z.length - 22;
        assertEquals(0x06054b50, b.getInt(eocd), "no archive comment");
        int cen = b.getInt(eocd + 16);
        assertEquals(0x02014b50, b.getInt(cen));
        return cen;
    }

    @Test
    void writtenBytesAreThoseOfAStoredArchiveWithSizesCrcAndFixedTimes(@TempDir Path dir) throws Exception {
        // Pins every byte: the archive as ZipOutputStream writes it with each entry's size, compressed size
        // and CRC given in advance (no data descriptors), time 0, in the order header, params, velocity, state.
        Random r = new Random(SEED);
        for (int t = 0; t < 3; t++) {
            Checkpoint c = sample(r);
            Path f = dir.resolve("c" + t + ".npz");
            c.write(f);
            assertArrayEquals(CheckpointMutationTest.zip(entriesOf(c)), Files.readAllBytes(f));
        }
    }

    @Test
    void headerReadsBackAndEntryOrderDoesNotMatter(@TempDir Path dir) throws Exception {
        Random r = new Random(SEED + 1);
        Checkpoint c = sample(r);
        Map<String, byte[]> e = entriesOf(c);
        Map<String, byte[]> reversed = new LinkedHashMap<>();
        List<String> names = List.copyOf(e.keySet());
        for (int i = names.size() - 1; i >= 0; i--) reversed.put(names.get(i), e.get(names.get(i)));
        Path f = dir.resolve("reversed.npz");
        Files.write(f, CheckpointMutationTest.zip(reversed));
        assertEquals(c.header(), Checkpoint.readHeader(f));
        Checkpoint back = Checkpoint.read(f);
        assertEquals(c.header(), back.header());
        assertArrayEquals(c.params(), back.params());
        assertArrayEquals(c.velocity(), back.velocity());
        assertArrayEquals(c.state(), back.state());
        // readHeader reads header.json alone: arrays missing are read's concern
        Files.write(f, CheckpointMutationTest.zip(Map.of("header.json", e.get("header.json"))));
        assertEquals(c.header(), Checkpoint.readHeader(f));
    }

    @Test
    void headerChecksAtTheirLimits(@TempDir Path dir) throws Exception {
        Random r = new Random(SEED + 2);
        Checkpoint c = sample(r);
        byte[] json = entriesOf(c).get("header.json");
        Path f = dir.resolve("bad.npz");

        assertEquals(f + ": not an asymbp checkpoint (no header.json entry)",
                headerFails(f, CheckpointMutationTest.zip(Map.of("params.npy", Npy.bytes(c.params())))));

        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            z.putNextEntry(new ZipEntry("header.json"));
            z.write(json);
        }
        assertEquals(f + ": entry header.json is compressed; checkpoints are uncompressed .npz (np.savez, not savez_compressed)",
                headerFails(f, bos.toByteArray()));

        // an empty header.json is 0 bytes, not "claims 0": it is read, and then is not JSON
        String m = headerFails(f, CheckpointMutationTest.zip(Map.of("header.json", new byte[0])));
        assertTrue(m.startsWith(f + ": corrupt header.json ("), m);

        // the central directory's size: the file's length + 1 is refused before reading, exactly the length
        // is read (and then runs short of bytes)
        byte[] z = CheckpointMutationTest.zip(Map.of("header.json", json));
        int cen = centralEntry(z);
        for (long claimed : new long[] {z.length + 1L, z.length}) {
            ByteBuffer b = ByteBuffer.wrap(z.clone()).order(ByteOrder.LITTLE_ENDIAN);
            b.putInt(cen + 20, (int) claimed).putInt(cen + 24, (int) claimed);
            m = headerFails(f, b.array());
            if (claimed > z.length) assertEquals(f + ": entry header.json claims " + claimed + " bytes in a file of " + z.length + " (corrupt)", m);
            else assertFalse(m.contains("claims"), m);
        }
        // one byte shorter than the data: a CRC failure; the CRC itself wrong: the same
        ByteBuffer b = ByteBuffer.wrap(z.clone()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(cen + 20, json.length - 1).putInt(cen + 24, json.length - 1);
        assertEquals(f + ": entry header.json fails its CRC-32 (the file is damaged)", headerFails(f, b.array()));
        b = ByteBuffer.wrap(z.clone()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(cen + 16, b.getInt(cen + 16) ^ 1);
        assertEquals(f + ": entry header.json fails its CRC-32 (the file is damaged)", headerFails(f, b.array()));
        // a flipped data byte
        byte[] flipped = z.clone();
        flipped[30 + "header.json".length() + r.nextInt(json.length)] ^= 0x01;
        assertEquals(f + ": entry header.json fails its CRC-32 (the file is damaged)", headerFails(f, flipped));
        // cut before the central directory: not a zip file
        m = headerFails(f, java.util.Arrays.copyOf(z, cen));
        assertTrue(m.startsWith(f + ": corrupt checkpoint ("), m);
    }

    @Test
    void aFileTwiceTheFreeHeapIsRefusedBeforeReading(@TempDir Path dir) throws Exception {
        // sparse: its length counts, not its blocks. Twice this length cannot fit the heap; the length alone might.
        Path f = dir.resolve("huge.npz");
        long size = Runtime.getRuntime().maxMemory() / 2 + (1 << 20);
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size);
        }
        IOException e = assertThrows(IOException.class, () -> Checkpoint.read(f));
        assertTrue(e.getMessage().startsWith(f + ": " + size + " bytes; loading it needs "), e.getMessage());
    }

    @Test
    void readVerifiesEveryEntrysCrcAsItReadsTheLastByte(@TempDir Path dir) throws Exception {
        Random r = new Random(SEED + 3);
        Checkpoint c = sample(r);
        Path good = dir.resolve("good.npz");
        c.write(good);
        byte[] z = Files.readAllBytes(good);
        ByteBuffer lh = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN);
        Path f = dir.resolve("bad.npz");
        int at = 0;
        for (String name : List.of("header.json", "params.npy", "velocity.npy", "state.npy")) {
            assertEquals(0x04034b50, lh.getInt(at), name);
            int data = at + 30 + lh.getShort(at + 26) + lh.getShort(at + 28), size = lh.getInt(at + 18);
            for (int off : new int[] {0, size - 1, r.nextInt(size)}) {
                byte[] bad = z.clone();
                bad[data + off] ^= (byte) (1 << r.nextInt(8));
                Files.write(f, bad);
                IOException e = assertThrows(IOException.class, () -> Checkpoint.read(f));
                assertInstanceOf(Checkpoint.CorruptException.class, e);
                assertTrue(e.getMessage().startsWith(f + ": corrupt checkpoint (invalid entry CRC"), name + " at " + off + ": " + e.getMessage());
            }
            at = data + size;
        }
    }
}
