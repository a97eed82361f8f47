package asymbp.io;

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

/**
 * The edges of Npy's size and value checks: the largest header a file may have, large arrays (the size
 * bound scales with the shape), empty and zero-sized shapes, a non-finite value at element 0, and int64
 * arrays of several values (what the PyTorch export writes for num_batches_tracked).
 */
class NpyBoundsTest {

    @TempDir Path dir;

    /** A version-2 .npy file whose header (padded with spaces, ending in a newline) is exactly headerLen bytes. */
    private static byte[] v2(String dict, int headerLen, float[] data) {
        StringBuilder h = new StringBuilder(dict);
        while (h.length() < headerLen - 1) h.append(' ');
        h.append('\n');
        ByteBuffer bb = ByteBuffer.allocate(12 + headerLen + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        bb.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0}).putInt(headerLen);
        bb.put(h.toString().getBytes(StandardCharsets.ISO_8859_1));
        for (float v : data) bb.putFloat(v);
        return bb.array();
    }

    private static float[] ramp(int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = i * 0.5f - 3f;
        return a;
    }

    @Test
    void theLargestHeaderAFileMayHaveIsRead() throws IOException {
        // 12 + 65535 + 4·n bytes: exactly the bound read() allows before it reads a file.
        float[] d = ramp(6);
        Path f = dir.resolve("max-header.npy");
        Files.write(f, v2("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 65535, d));
        assertEquals(4L * 6 + 65547, Files.size(f));
        float[] got = new float[6];
        Npy.read(f, new int[] {2, 3}, got, 0);
        assertArrayEquals(d, got);
        // One byte more (an extra data byte) is refused before reading, naming the size.
        byte[] longer = Arrays.copyOf(Files.readAllBytes(f), (int) Files.size(f) + 1);
        Path g = dir.resolve("too-large.npy");
        Files.write(g, longer);
        WeightsException e = assertThrows(WeightsException.class, () -> Npy.read(g, new int[] {2, 3}, new float[6], 0));
        assertTrue(e.getMessage().contains(longer.length + " bytes, too large") && e.getMessage().contains("(24 data bytes)"),
                e.getMessage());
    }

    @Test
    void aLargeArrayIsNotMistakenForAnOversizedFile() throws IOException {
        // The size bound is 4·(product of the shape) + the largest header: a 100,000-element array's
        // file is far above the header allowance alone.
        float[] d = ramp(100_000);
        Path f = dir.resolve("large.npy");
        Npy.write(f, new int[] {100_000}, d, 0, d.length);
        float[] got = new float[100_000];
        Npy.read(f, new int[] {100_000}, got, 0);
        assertArrayEquals(d, got);
        Path g = dir.resolve("large2d.npy");
        Npy.write(g, new int[] {250, 400}, d, 0, d.length);
        float[] got2 = new float[100_000];
        Npy.read(g, new int[] {250, 400}, got2, 0);
        assertArrayEquals(d, got2);
    }

    @Test
    void emptyAndZeroSizedShapesParse() {
        // Shape (0,): the header ends the file; shape (0, 3): a zero dimension is not a negative one.
        byte[] empty = v2("{'descr': '<f4', 'fortran_order': False, 'shape': (0,), }", 64, new float[0]);
        assertEquals(0, Npy.parse(empty, "empty.npy", new int[] {0}).length);
        byte[] zero = v2("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", 64, new float[0]);
        assertEquals(0, Npy.parse(zero, "zero.npy", new int[] {0, 3}).length);
        byte[] negative = v2("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", 64, new float[0]);
        WeightsException e = assertThrows(WeightsException.class, () -> Npy.parse(negative, "neg.npy", null));
        assertTrue(e.getMessage().contains("negative dimension"), e.getMessage());
    }

    @Test
    void aNonFiniteValueIsRefusedWhereverItIs() throws IOException {
        for (int at : new int[] {0, 1, 5}) {
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] d = ramp(6);
                d[at] = bad;
                Path f = dir.resolve("bad" + at + ".npy");
                Npy.write(f, new int[] {6}, d, 0, 6);
                WeightsException e = assertThrows(WeightsException.class, () -> Npy.read(f, new int[] {6}, new float[6], 0));
                assertTrue(e.getMessage().contains("element " + at + " "), e.getMessage());
            }
        }
        assertEquals(-1, Npy.firstNonFinite(ramp(6)));
        assertEquals(-1, Npy.firstNonFinite(new float[0]));
    }

    @Test
    void int64ArraysOfSeveralValuesAreWritten() throws IOException {
        long[] v = {0L, 1L, -7L, Long.MAX_VALUE, 938L};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Npy.writeInt64(out, new int[] {5}, v);
        byte[] b = out.toByteArray();
        String header = new String(b, 10, (b[8] & 0xff) | (b[9] & 0xff) << 8, StandardCharsets.ISO_8859_1);
        assertTrue(header.contains("'descr': '<i8'") && header.contains("'shape': (5,)"), header);
        int data = 10 + header.length();
        assertEquals(data + 8 * v.length, b.length);
        ByteBuffer bb = ByteBuffer.wrap(b, data, 8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) assertEquals(x, bb.getLong());
    }
}
