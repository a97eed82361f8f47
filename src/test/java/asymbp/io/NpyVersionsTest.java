package asymbp.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Npy.read on files built byte by byte as NumPy may write them: format versions 1, 2 and 3 (2 and 3
 * carry a 4-byte header length), a version-1 header of 256 bytes or more (the length's high byte set),
 * the accepted dtype spellings, and each way a header or payload can be wrong, with the message that
 * names it.
 */
class NpyVersionsTest {
    @TempDir Path dir;

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** A .npy file: magic, version major.0, the header length in 2 (v1) or 4 bytes, header, payload. */
    private static byte[] npy(int major, String header, float[] data, int extraBytes) {
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        int lenBytes = major == 1 ? 2 : 4;
        ByteBuffer b = ByteBuffer.allocate(8 + lenBytes + h.length + 4 * data.length + extraBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) major).put((byte) 0);
        if (major == 1) b.putShort((short) h.length); else b.putInt(h.length);
        b.put(h);
        for (float f : data) b.putFloat(f);
        return b.array();
    }

    private static String dict(String descr, String fortran, String shape, int padTo) {
        String d = "{'descr': '" + descr + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }";
        return d + " ".repeat(Math.max(0, padTo - d.length() - 1)) + "\n";
    }

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static float[] random(int n) {
        SplittableRandom r = new SplittableRandom(Long.getLong("asymbp.seed", System.nanoTime()));
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextDouble() * 10 - 5);
        return a;
    }

    @Test
    void versionsOneTwoThreeAndLongHeaders() throws IOException {
        float[] data = random(6);
        for (int major = 1; major <= 3; major++)
            for (int padTo : new int[] {0, 118, 256, 300, 1000}) {
                for (String descr : new String[] {"<f4", "=f4", "|f4"}) {
                    Path f = file("v" + major + "-" + padTo + descr.charAt(0) + ".npy",
                            npy(major, dict(descr, "False", "(2, 3)", padTo), data, 0));
                    float[] got = new float[9];
                    Arrays.fill(got, -1f);
                    Npy.read(f, new int[] {2, 3}, got, 2);
                    float[] want = new float[9];
                    Arrays.fill(want, -1f);
                    System.arraycopy(data, 0, want, 2, 6);
                    assertArrayEquals(want, got, "version " + major + ", header padded to " + padTo + ", descr " + descr);
                }
            }
    }

    @Test
    void writtenFilesReadBackWithLongHeaders() throws IOException {
        // an 80-dimensional shape of ones makes NumPy-style headers longer than 255 bytes
        int[] shape = new int[80];
        Arrays.fill(shape, 1);
        shape[7] = 3;
        float[] data = random(5);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Npy.write(out, shape, data, 1, 3);
        byte[] b = out.toByteArray();
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        assertTrue(headerLen >= 256, "header of " + headerLen + " bytes");
        assertEquals(0, (10 + headerLen) % 64);
        float[] got = new float[3];
        Npy.read(file("long.npy", b), shape, got, 0);
        assertArrayEquals(Arrays.copyOfRange(data, 1, 4), got);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Npy.write(new ByteArrayOutputStream(), new int[] {2, 2}, data, 0, 5));
        assertTrue(e.getMessage().contains("shape [2, 2] holds 4 elements, not 5"), e.getMessage());
    }

    @Test
    void zeroDimensionalArrayHoldsOneValue() throws IOException {
        float[] v = {4.25f};
        Path f = file("scalar.npy", npy(1, dict("<f4", "False", "()", 64), v, 0));
        float[] got = new float[2];
        Npy.read(f, new int[0], got, 1);
        assertArrayEquals(new float[] {0f, 4.25f}, got);
    }

    private void fails(String name, byte[] bytes, int[] shape, String... fragments) throws IOException {
        Path f = file(name, bytes);
        WeightsException e = assertThrows(WeightsException.class, () -> Npy.read(f, shape, new float[64], 0));
        System.out.println("  expected failure: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(f.toString() + ": "), e.getMessage());
        for (String s : fragments) assertTrue(e.getMessage().contains(s), "'" + s + "' in: " + e.getMessage());
    }

    @Test
    void badFilesAreNamedWithWhatIsWrong() throws IOException {
        float[] d = random(6);
        int[] shape = {2, 3};
        String ok = dict("<f4", "False", "(2, 3)", 64);
        fails("short", Arrays.copyOf(MAGIC, 9), shape, "not a .npy file (bad magic)");
        byte[] badMagic = npy(1, ok, d, 0);
        badMagic[5] = 'X';
        fails("magic", badMagic, shape, "bad magic");
        byte[] v4 = npy(1, ok, d, 0);
        v4[6] = 4;
        fails("v4", v4, shape, "unsupported .npy version 4");
        byte[] v0 = npy(1, ok, d, 0);
        v0[6] = 0;
        fails("v0", v0, shape, "unsupported .npy version 0");
        fails("v2short", Arrays.copyOf(npy(2, ok, d, 0), 11), shape, "truncated header");
        byte[] negative = npy(2, ok, d, 0);
        negative[11] = (byte) 0x80;
        fails("v2negative", negative, shape, "truncated header");
        fails("v1cut", Arrays.copyOf(npy(1, ok, d, 0), 10 + ok.length() - 1), shape, "truncated header");
        byte[] exact = Arrays.copyOf(npy(3, ok, new float[0], 0), 12 + ok.length());   // header ends the file: no data
        fails("v3nodata", exact, shape, "0 data bytes, expected 24");
        fails("f8", npy(1, dict("<f8", "False", "(2, 3)", 64), d, 0), shape, "dtype <f8, expected float32 '<f4'");
        fails("bigendian", npy(1, dict(">f4", "False", "(2, 3)", 64), d, 0), shape, "dtype >f4");
        fails("fortran", npy(1, dict("<f4", "True", "(2, 3)", 64), d, 0), shape, "Fortran order, expected C order");
        fails("noshape", npy(1, "{'descr': '<f4', 'fortran_order': False, }\n", d, 0), shape, "header has no 'shape'");
        fails("nodescr", npy(1, "{'fortran_order': False, 'shape': (2, 3), }\n", d, 0), shape, "header has no 'descr'");
        fails("badshape", npy(1, dict("<f4", "False", "(2, x)", 64), d, 0), shape, "unreadable shape (2, x)");
        fails("wrongshape", npy(1, dict("<f4", "False", "(3, 2)", 64), d, 0), shape, "shape (3, 2), expected (2, 3)");
        fails("onedim", npy(1, dict("<f4", "False", "(6,)", 64), d, 0), shape, "shape (6,), expected (2, 3)");
        fails("extra", npy(1, ok, d, 3), shape, "27 data bytes, expected 24");
        fails("short data", Arrays.copyOf(npy(2, ok, d, 0), 12 + ok.length() + 23), shape, "23 data bytes, expected 24");
        // the smallest headers: length 0 is read (and found to lack the fields), not called truncated or not .npy
        fails("v1empty", npy(1, "", new float[0], 0), shape, "header has no 'descr'");
        fails("v2empty", npy(2, "", new float[0], 0), shape, "header has no 'descr'");
        Path missing = dir.resolve("missing.npy");
        WeightsException e = assertThrows(WeightsException.class, () -> Npy.read(missing, new int[] {4}, new float[4], 0));
        assertEquals(missing + ": missing (expected a float32 array of shape (4,))", e.getMessage());
        WeightsException d2 = assertThrows(WeightsException.class, () -> Npy.read(dir, new int[] {4}, new float[4], 0));
        assertTrue(d2.getMessage().startsWith("cannot read " + dir + ": "), d2.getMessage());   // file, then the reason (io.IoErrors)
    }
}
