package asymbp.train;

import asymbp.io.Json;
import asymbp.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: every check of {@link Checkpoint#read} against a file damaged in exactly that way, with the
 * exact one-line message, and the written file's layout (entry order, stored, fixed times) bit for bit.
 */
class CheckpointMutationTest {

    private static final long SEED = Long.getLong("asymbp.seed", System.nanoTime() & 0xffffff);
    static { System.out.println("CheckpointMutationTest seed " + SEED + " (replay with -Dasymbp.seed=" + SEED + ")"); }

    /** n standard-normal floats (shared with CheckpointHeaderMutationTest). */
    static float[] random(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    private static Checkpoint sample(Random r) {
        return sample(r, TrainConfig.defaults().withSeed(r.nextInt(1000)).withEpochs(3), 938);
    }

    /** A checkpoint of config c after one epoch of {@code steps} steps: one history record, random arrays of 1–50 values. */
    static Checkpoint sample(Random r, TrainConfig c, int steps) {
        List<EpochRecord> history = List.of(new EpochRecord(0, 0.5, 0.1, 0.2, 5e-5, 1000, 2.5,
                List.of(new LayerAlignment(0, "conv1", 12.5, 40.0)), 60000, 1100));
        return new Checkpoint(new Checkpoint.Header(c, 1, steps, history, r.nextDouble() * 1e4), random(r, 1 + r.nextInt(50)),
                random(r, 1 + r.nextInt(50)), random(r, 1 + r.nextInt(50)));
    }

    private static void assertSame(Checkpoint want, Checkpoint got) {
        assertEquals(want.header(), got.header());
        assertArrayEquals(want.params(), got.params());
        assertArrayEquals(want.velocity(), got.velocity());
        assertArrayEquals(want.state(), got.state());
    }

    /** An archive of the given entries as Checkpoint writes them (stored, CRC and sizes set, time 0), in order. */
    static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            z.setMethod(ZipOutputStream.STORED);
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry ze = new ZipEntry(e.getKey());
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                ze.setSize(e.getValue().length);
                ze.setCompressedSize(e.getValue().length);
                ze.setCrc(crc.getValue());
                ze.setTime(0);
                z.putNextEntry(ze);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bos.toByteArray();
    }

    /** The entries of a good checkpoint file, in order. */
    private static Map<String, byte[]> entries(Path file) throws IOException {
        Map<String, byte[]> out = new LinkedHashMap<>();
        try (InputStream is = Files.newInputStream(file); ZipInputStream z = new ZipInputStream(is)) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) out.put(e.getName(), z.readAllBytes());
        }
        return out;
    }

    private static byte[] header(String format, int version, Checkpoint.Header h, Map<String, String> sha) throws IOException {
        return Json.MAPPER.writeValueAsBytes(new Checkpoint.Stored(format, version, h, sha));
    }

    private static String fails(Path file, byte[] content) throws IOException {
        Files.write(file, content);
        return fails(file);
    }

    private static String fails(Path file) {
        IOException e = assertThrows(IOException.class, () -> Checkpoint.read(file));
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(file.toString()), "names the file: " + e.getMessage());
        return e.getMessage();
    }

    @Test
    void roundTripIsExactAndTheFileIsAStoredNpzInAFixedOrder(@TempDir Path dir) throws Exception {
        Random r = new Random(SEED);
        Checkpoint c = sample(r);
        Path f = dir.resolve(Checkpoint.FILE);
        c.write(f);
        assertSame(c, Checkpoint.read(f));
        assertEquals(c.header(), Checkpoint.readHeader(f));

        ZipEntry fixed = new ZipEntry("t");
        fixed.setTime(0);
        List<String> names = new ArrayList<>();
        try (InputStream is = Files.newInputStream(f); ZipInputStream z = new ZipInputStream(is)) {
            for (ZipEntry e; (e = z.getNextEntry()) != null; ) {
                names.add(e.getName());
                assertEquals(ZipEntry.STORED, e.getMethod(), e.getName());
                assertEquals(fixed.getTime(), e.getTime(), e.getName() + ": a fixed time, so the same state gives the same bytes");
            }
        }
        assertEquals(List.of("header.json", "params.npy", "velocity.npy", "state.npy"), names);
        Map<String, byte[]> e = entries(f);
        assertArrayEquals(Npy.bytes(c.params()), e.get("params.npy"));
        assertArrayEquals(Npy.bytes(c.velocity()), e.get("velocity.npy"));
        assertArrayEquals(Npy.bytes(c.state()), e.get("state.npy"));
        Checkpoint.Stored st = Json.MAPPER.readValue(e.get("header.json"), Checkpoint.Stored.class);
        assertEquals("asymbp-checkpoint", st.format());
        assertEquals(2, st.version());
        assertEquals(Checkpoint.sha256(e.get("state.npy")), st.sha256().get("state.npy"));
        assertEquals(64, Checkpoint.sha256(new byte[0]).length());
        assertEquals("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Checkpoint.sha256(new byte[0]));

        // np.load reads the central directory, not the local headers ZipInputStream walks
        try (java.util.zip.ZipFile zf = new java.util.zip.ZipFile(f.toFile())) {
            assertEquals(names, zf.stream().map(ZipEntry::getName).toList());
        }
        // an empty entry is stored, not compressed: a reader must not take size 0 for "unknown"
        Map<String, byte[]> withEmpty = new LinkedHashMap<>(e);
        withEmpty.put("notes.txt", new byte[0]);
        Path h = dir.resolve("extra.npz");
        Files.write(h, zip(withEmpty));
        assertSame(c, Checkpoint.read(h));

        byte[] first = Files.readAllBytes(f);
        Path g = dir.resolve("again.npz");
        c.write(g);
        assertArrayEquals(first, Files.readAllBytes(g), "the same state gives the same bytes");
    }

    @Test
    void missingFileAndAFolderAreNamed(@TempDir Path dir) {
        Path f = dir.resolve("nope.npz");
        assertEquals(f + ": no checkpoint to resume from", fails(f));
        IOException e = assertThrows(IOException.class, () -> Checkpoint.read(dir));
        assertEquals("cannot read " + dir + ": Is a directory", e.getMessage());
    }

    @Test
    void everyDamageIsACorruptCheckpointNamingTheFile(@TempDir Path dir) throws Exception {
        Random r = new Random(SEED + 1);
        Checkpoint c = sample(r);
        Path good = dir.resolve("good.npz");
        c.write(good);
        Map<String, byte[]> e = entries(good);
        Checkpoint.Stored st = Json.MAPPER.readValue(e.get("header.json"), Checkpoint.Stored.class);
        Path f = dir.resolve("bad.npz");

        // compressed entries (np.savez_compressed)
        ByteArrayOutputStream bos = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bos)) {
            z.putNextEntry(new ZipEntry("header.json"));
            z.write(e.get("header.json"));
            z.closeEntry();
        }
        assertEquals(f + ": entry header.json is compressed; checkpoints are uncompressed .npz (np.savez, not savez_compressed)",
                fails(f, bos.toByteArray()));

        // no header.json
        Map<String, byte[]> m = new LinkedHashMap<>(e);
        m.remove("header.json");
        assertEquals(f + ": not an asymbp checkpoint (no header.json entry)", fails(f, zip(m)));
        assertEquals(f + ": not an asymbp checkpoint (no header.json entry)", fails(f, zip(Map.of())));

        // header.json not JSON
        m = new LinkedHashMap<>(e);
        m.put("header.json", "{not json".getBytes(StandardCharsets.UTF_8));
        assertTrue(fails(f, zip(m)).startsWith(f + ": corrupt header.json ("));

        // another format, another version: each alone is refused
        m.put("header.json", header("other", 2, st.header(), st.sha256()));
        assertEquals(f + ": format other version 2, expected asymbp-checkpoint version 2", fails(f, zip(m)));
        m.put("header.json", header("asymbp-checkpoint", 1, st.header(), st.sha256()));
        assertEquals(f + ": format asymbp-checkpoint version 1, expected asymbp-checkpoint version 2", fails(f, zip(m)));
        m.put("header.json", header("asymbp-checkpoint", 3, st.header(), st.sha256()));
        assertEquals(f + ": format asymbp-checkpoint version 3, expected asymbp-checkpoint version 2", fails(f, zip(m)));

        // header, configuration or checksums missing: each alone is refused
        String lacks = f + ": header.json lacks the configuration or the checksums";
        m.put("header.json", header("asymbp-checkpoint", 2, null, st.sha256()));
        assertEquals(lacks, fails(f, zip(m)));
        Checkpoint.Header h = st.header();
        m.put("header.json", header("asymbp-checkpoint", 2, new Checkpoint.Header(null, h.epochs(), h.step(), h.history(), h.wallSeconds()), st.sha256()));
        assertEquals(lacks, fails(f, zip(m)));
        m.put("header.json", header("asymbp-checkpoint", 2, h, null));
        assertEquals(lacks, fails(f, zip(m)));

        // each array missing, or not matching its checksum
        for (String name : List.of("params.npy", "velocity.npy", "state.npy")) {
            m = new LinkedHashMap<>(e);
            m.remove(name);
            assertEquals(f + ": no entry " + name, fails(f, zip(m)));
            m = new LinkedHashMap<>(e);
            byte[] other = Npy.bytes(random(r, 3));
            m.put(name, other);
            assertEquals(f + ": SHA-256 of " + name + " is " + Checkpoint.sha256(other) + ", header.json says "
                    + st.sha256().get(name) + " (the file is damaged)", fails(f, zip(m)));
        }

        // an entry twice (ZipOutputStream refuses duplicate names: write another name of the same length, then rename)
        m = new LinkedHashMap<>(e);
        m.put("params.npX", e.get("params.npy"));
        byte[] twice = zip(m);
        byte[] from = "params.npX".getBytes(StandardCharsets.US_ASCII), to = "params.npy".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i + from.length <= twice.length; i++)
            if (java.util.Arrays.equals(twice, i, i + from.length, from, 0, from.length))
                System.arraycopy(to, 0, twice, i, to.length);
        assertEquals(f + ": entry params.npy twice", fails(f, twice));
    }

    @Test
    void arraysThatAreNotFloat32OrNotFiniteAreRefused(@TempDir Path dir) throws Exception {
        Random r = new Random(SEED + 2);
        Checkpoint c = sample(r);
        Path f = dir.resolve("bad.npz");
        for (int k = 0; k < 3; k++) {
            String name = List.of("params.npy", "velocity.npy", "state.npy").get(k);
            for (int at : new int[] {0, 2}) {
                for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY}) {
                    float[][] a = {c.params().clone(), c.velocity().clone(), c.state().clone()};
                    a[k] = random(r, 4);
                    a[k][at] = bad;
                    new Checkpoint(c.header(), a[0], a[1], a[2]).write(f);
                    assertEquals(f + ": " + name + " element " + at + " is " + bad + "; a checkpoint holds only finite values", fails(f));
                }
            }
        }
        // a .npy entry that is not an array (its checksum in header.json matches, so the parser must speak)
        c.write(f);
        Map<String, byte[]> e = entries(f);
        byte[] junk = "not an npy file at all".getBytes(StandardCharsets.US_ASCII);
        e.put("velocity.npy", junk);
        Checkpoint.Stored st = Json.MAPPER.readValue(e.get("header.json"), Checkpoint.Stored.class);
        Map<String, String> sha = new LinkedHashMap<>(st.sha256());
        sha.put("velocity.npy", Checkpoint.sha256(junk));
        e.put("header.json", header(st.format(), st.version(), st.header(), sha));
        String m = fails(f, zip(e));
        assertTrue(m.startsWith(f + "!velocity.npy"), m);
    }

    /** Offset of the first local header's size fields, and the data, in a file written by {@link #zip}. */
    private static int firstDataOffset(byte[] z) {
        ByteBuffer b = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN);
        return 30 + b.getShort(26) + b.getShort(28);
    }

    @Test
    void damagedBytesAndLyingSizesAreCaught(@TempDir Path dir) throws Exception {
        Random r = new Random(SEED + 3);
        Path good = dir.resolve("good.npz");
        sample(r).write(good);
        byte[] z = Files.readAllBytes(good);
        Path f = dir.resolve("bad.npz");

        // one byte of header.json's data flipped: the ZIP CRC-32 catches it
        byte[] flipped = z.clone();
        flipped[firstDataOffset(z) + 1] ^= 0x20;
        assertTrue(fails(f, flipped).startsWith(f + ": corrupt checkpoint ("));

        // an entry claiming more bytes than the whole file
        ByteBuffer b = ByteBuffer.wrap(z.clone()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(18, z.length + 1).putInt(22, z.length + 1);
        assertEquals(f + ": entry header.json claims " + (z.length + 1) + " bytes in a file of " + z.length + " (corrupt)",
                fails(f, b.array()));
        // exactly the file's size is not "more than the file": the read itself then runs out
        b = ByteBuffer.wrap(z.clone()).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(18, z.length).putInt(22, z.length);
        String m = fails(f, b.array());
        assertFalse(m.contains("claims"), m);
        assertTrue(m.contains("corrupt") || m.contains("truncated"), m);

        // the file cut inside the last entry's data (which is shorter than the file left)
        ByteBuffer lh = ByteBuffer.wrap(z).order(ByteOrder.LITTLE_ENDIAN);
        int at = 0;
        for (int entry = 0; entry < 3; entry++) at += 30 + lh.getShort(at + 26) + lh.getShort(at + 28) + lh.getInt(at + 18);
        int state = at + 30 + lh.getShort(at + 26) + lh.getShort(at + 28);
        assertTrue(lh.getInt(at + 18) < state, "state.npy is shorter than what precedes it");
        m = fails(f, java.util.Arrays.copyOf(z, state + 10));
        assertEquals(f + ": corrupt checkpoint (unexpected EOF)", m);
    }
}
