package asymbp.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 12, item 3: every declared size is checked against the file and the memory left before it is
 * allocated. Each case runs {@code asymbp train} in a JVM of its own with {@code -Xmx256m}: one clear
 * line and the documented exit code, never an OutOfMemoryError.
 */
class BoundedAllocationTest {

    record Outcome(int code, String err) {}

    /**
     * Each case as {@code asymbp train CASE --backend cpu -q --out DIR/o-i}, all in one fresh JVM with a
     * 256 MiB heap (one JVM start for them all), in order.
     */
    static List<Outcome> train(Path dir, String[]... cases) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "--add-modules", "jdk.incubator.vector", "-cp", cp, ForkedTrain.class.getName()));
        for (int i = 0; i < cases.length; i++) {
            if (i > 0) cmd.add("::");
            cmd.add("train");
            cmd.addAll(List.of(cases[i]));
            cmd.addAll(List.of("--backend", "cpu", "-q", "--out", dir.resolve("o-" + i).toString()));
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.PIPE).start();
        // stderr holds only the JVM's own notices unless something escaped the CLI (a stack trace).
        java.util.concurrent.CompletableFuture<String> stderr = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try {
                return new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return e.toString();
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int code = p.waitFor();
        String escaped = stderr.get().lines().filter(l -> !l.startsWith("WARNING: Using incubator modules"))
                .reduce("", (a, b) -> a + b + "\n").strip();
        assertEquals("", escaped, "the forked JVM wrote to stderr (exit " + code + ")");
        assertEquals(0, code, "the forked JVM failed");
        List<Outcome> outcomes = new ArrayList<>();
        for (String line : out.lines().toList()) {
            if (!line.startsWith("EXIT ")) continue;
            int tab = line.indexOf('\t');
            Outcome o = new Outcome(Integer.parseInt(line.substring(5, tab)), line.substring(tab + 1).replace("\\n", "\n"));
            System.out.println("  " + String.join(" ", cases[outcomes.size()]) + " -> exit " + o.code() + ": " + o.err());
            outcomes.add(o);
        }
        assertEquals(cases.length, outcomes.size(), out);
        return outcomes;
    }

    static void assertOneLine(Outcome o, int code, String... fragments) {
        assertFalse(o.err().contains("OutOfMemoryError") || o.err().contains("\tat "), "a stack trace: " + o.err());
        assertEquals(code, o.code(), o.err());
        assertFalse(o.err().contains("\n"), "one line expected: " + o.err());
        for (String f : fragments) assertTrue(o.err().contains(f), "'" + f + "' expected in: " + o.err());
    }

    static void idxSet(Path dir, byte[] trainImages) throws IOException {
        Files.createDirectories(dir);
        Files.write(dir.resolve("train-images-idx3-ubyte"), trainImages);
        Files.write(dir.resolve("train-labels-idx1-ubyte"), TestFiles.idxLabels(new int[10]));
        Files.write(dir.resolve("t10k-images-idx3-ubyte"), TestFiles.idxImages(10, 28, 28, new byte[10 * 784]));
        Files.write(dir.resolve("t10k-labels-idx1-ubyte"), TestFiles.idxLabels(new int[10]));
    }

    @Test
    void idxHeadersThatClaimMoreThanTheFileHolds(@TempDir Path tmp) throws Exception {
        // The reported case: 7.8 KB declaring 2,700,000 images of 28×28 (2.1 GB).
        byte[] liar = TestFiles.idxImages(2_700_000, 28, 28, new byte[10 * 784]);
        idxSet(tmp.resolve("plain"), liar);
        idxSet(tmp.resolve("gz"), TestFiles.gzip(liar));
        List<Outcome> o = train(tmp, new String[] {"--dataset", "idx:" + tmp.resolve("plain")},
                new String[] {"--dataset", "idx:" + tmp.resolve("gz")});
        assertOneLine(o.get(0), 1, "train-images-idx3-ubyte", "truncated", "2700000 images");
        assertOneLine(o.get(1), 1, "train-images-idx3-ubyte", "truncated");
    }

    @Test
    void idxImagesLargerThanMemoryAreRefusedBeforeTheAllocation(@TempDir Path tmp) throws Exception {
        // 400,000 images of 28×28 (314 MB, a sparse file that really holds them) do not fit 256 MiB: the
        // memory check must come before the array is allocated, not after.
        Path d = tmp.resolve("big");
        idxSet(d, TestFiles.idxImages(400_000, 28, 28, new byte[0]));
        try (RandomAccessFile f = new RandomAccessFile(d.resolve("train-images-idx3-ubyte").toFile(), "rw")) {
            f.setLength(16 + 400_000L * 784);
        }
        List<Outcome> o = train(tmp, new String[] {"--dataset", "idx:" + d});
        assertOneLine(o.get(0), 1, "train-images-idx3-ubyte", "400000 images", "memory");
    }

    @Test
    void modelsAndBatchesTooLargeAreBadValues(@TempDir Path tmp) throws Exception {
        Path d = tmp.resolve("small");
        idxSet(d, TestFiles.idxImages(10, 28, 28, new byte[10 * 784]));
        // The reported cases: an int overflow printed as "error: -1394836470", and 19 s then an OutOfMemoryError.
        // Batch × width: 60,000 MNIST images in one batch of a 4096-wide MLP.
        List<Outcome> o = train(tmp, new String[] {"--dataset", "idx:" + d, "--model", "mlp:100000-100000-100000"},
                new String[] {"--dataset", "idx:" + d, "--model", "mlp:20000-20000"},
                new String[] {"--model", "mlp:4096", "--batch", "60000"});
        assertOneLine(o.get(0), 2, "--model mlp:100000-100000-100000", "parameters");
        assertOneLine(o.get(1), 2, "--model mlp:20000-20000", "memory", "-Xmx");
        assertOneLine(o.get(2), 2, "--model mlp:4096", "batch 60000", "memory");
    }

    @Test
    void binaryAndMatlabSetsLargerThanMemory(@TempDir Path tmp) throws Exception {
        // CIFAR-10: 100,000 records (300 MB, a sparse file) do not fit 256 MiB.
        Path cifar = Files.createDirectories(tmp.resolve("cifar"));
        try (RandomAccessFile f = new RandomAccessFile(cifar.resolve("data_batch_1.bin").toFile(), "rw")) {
            f.setLength(100_000L * 3073);
        }

        // STL-10: 11,000 images of 96×96×3 (304 MB, sparse) with their labels.
        Path stl = Files.createDirectories(tmp.resolve("stl"));
        byte[] labels = new byte[11_000];
        java.util.Arrays.fill(labels, (byte) 1);
        Files.write(stl.resolve("train_y.bin"), labels);
        try (RandomAccessFile f = new RandomAccessFile(stl.resolve("train_X.bin").toFile(), "rw")) {
            f.setLength(11_000L * 27648);
        }

        // SVHN: X declared 32×32×3×600,000 (1.8 GB) with two images of data.
        Path svhn = Files.createDirectories(tmp.resolve("svhn"));
        byte[] mat = new MatWriter(ByteOrder.LITTLE_ENDIAN)
                .variable("X", MatWriter.MX_UINT8, new int[] {32, 32, 3, 600_000}, MatWriter.MI_UINT8, new byte[2 * 3072], false)
                .bytes();
        // The data element's byte count (after the 128-byte header, the matrix tag, flags, dims and name).
        ByteBuffer.wrap(mat).order(ByteOrder.LITTLE_ENDIAN).putInt(128 + 8 + 16 + 24 + 8 + 4, 600_000 * 3072);
        Files.write(svhn.resolve("train_32x32.mat"), mat);
        Files.write(svhn.resolve("test_32x32.mat"), mat);

        // An image whose header declares 100,000 × 100,000 pixels in a few bytes.
        Path folder = tmp.resolve("folder");
        Files.createDirectories(folder.resolve("a"));
        Files.createDirectories(folder.resolve("b"));
        Files.write(folder.resolve("a/huge.png"), png(100_000, 100_000));
        Files.write(folder.resolve("b/huge.png"), png(100_000, 100_000));
        List<Outcome> o = train(tmp, new String[] {"--dataset", "cifar10:" + cifar}, new String[] {"--dataset", "stl10:" + stl},
                new String[] {"--dataset", "svhn:" + svhn}, new String[] {"--dataset", "folder:" + folder});
        assertOneLine(o.get(0), 1, "data_batch_1.bin", "memory");
        assertOneLine(o.get(1), 1, "train_X.bin", "memory");
        assertOneLine(o.get(2), 1, "train_32x32.mat", "truncated", "of X");
        assertOneLine(o.get(3), 1, "huge.png", "100000x100000", "memory");
    }

    /** A PNG signature, an IHDR of w×h RGB, and an empty IEND: enough for a decoder to read the size. */
    static byte[] png(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0)
                .put((byte) 0).put((byte) 0).array());
        chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
