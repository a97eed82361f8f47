package asymbp.data;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPOutputStream;

/** Helpers the loader tests share: writing files in the real formats, and checking error messages. */
final class TestFiles {
    private TestFiles() {}

    /** A fresh random generator whose seed is printed, so a failure can be replayed. */
    static Random random(String test) {
        long seed = System.nanoTime();
        System.out.println(test + ": seed " + seed);
        return new Random(seed);
    }

    static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    static int[] randomLabels(Random r, int n, int classes) {
        int[] l = new int[n];
        for (int i = 0; i < n; i++) l[i] = r.nextInt(classes);
        return l;
    }

    static byte[] idxImages(int count, int rows, int cols, byte[] pixels) {
        ByteBuffer b = ByteBuffer.allocate(16 + pixels.length);
        b.putInt(0x803).putInt(count).putInt(rows).putInt(cols).put(pixels);
        return b.array();
    }

    static byte[] idxLabels(int[] labels) {
        ByteBuffer b = ByteBuffer.allocate(8 + labels.length);
        b.putInt(0x801).putInt(labels.length);
        for (int l : labels) b.put((byte) l);
        return b.array();
    }

    static byte[] gzip(byte[] data) {
        try {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (GZIPOutputStream gz = new GZIPOutputStream(bos)) {
                gz.write(data);
            }
            return bos.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Path write(Path file, byte[] data) {
        try {
            Files.createDirectories(file.getParent());
            return Files.write(file, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Asserts that loading fails with a DatasetException whose message names the file and contains each fragment. */
    static DatasetException assertFails(String spec, String file, String... fragments) {
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.load(spec));
        String m = e.getMessage();
        System.out.println("  expected failure: " + m);
        assertTrue(m.contains(file), "message should name " + file + ": " + m);
        for (String f : fragments) assertTrue(m.contains(f), "message should contain '" + f + "': " + m);
        assertTrue(!m.contains("\n\tat "), "message must not be a stack trace: " + m);
        return e;
    }
}
