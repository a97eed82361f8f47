package asymbp.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NumPy's .npy format, version 1.0, for little-endian float32 arrays in C order (and int64 ones, written
 * only: PyTorch's BN {@code num_batches_tracked}): the 6-byte magic
 * {@code \x93NUMPY}, version bytes 1 0, a little-endian uint16 header length, an ASCII dict header
 * padded with spaces and ending in '\n' so that data starts at a multiple of 64 bytes, then the data.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};

    /** The header dict as NumPy writes it, e.g. {@code {'descr': '<f4', 'fortran_order': False, 'shape': (6, 1, 5, 5), }}. */
    static String headerDict(int[] shape) { return headerDict("<f4", shape); }

    static String headerDict(String descr, int[] shape) {
        StringBuilder s = new StringBuilder("(");
        for (int i = 0; i < shape.length; i++) s.append(i > 0 ? ", " : "").append(shape[i]);
        if (shape.length == 1) s.append(',');
        s.append(')');
        return "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + s + ", }";
    }

    /** Magic, version 1.0 and the padded header for {@code length} elements of {@code descr}. */
    private static void writeHeader(OutputStream out, String descr, int[] shape, long length) throws IOException {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != length) throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " holds " + n + " elements, not " + length);
        String dict = headerDict(descr, shape);
        int unpadded = MAGIC.length + 2 + 2 + dict.length() + 1;
        int pad = (64 - unpadded % 64) % 64;
        String header = dict + " ".repeat(pad) + "\n";
        out.write(MAGIC);
        out.write(1);
        out.write(0);
        out.write(header.length() & 0xff);
        out.write((header.length() >>> 8) & 0xff);
        out.write(header.getBytes(StandardCharsets.US_ASCII));
    }

    public static void write(OutputStream out, int[] shape, float[] data, int offset, int length) throws IOException {
        writeHeader(out, "<f4", shape, length);
        ByteBuffer bb = ByteBuffer.allocate(4 * length).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < length; i++) bb.putFloat(data[offset + i]);
        out.write(bb.array());
    }

    public static void write(Path file, int[] shape, float[] data, int offset, int length) throws IOException {
        AtomicFiles.write(file, out -> write(out, shape, data, offset, length));
    }

    /** An int64 array ('<i8'); shape {@code new int[0]} is a 0-d array (one value), as PyTorch's counters. */
    public static void writeInt64(OutputStream out, int[] shape, long[] data) throws IOException {
        writeHeader(out, "<i8", shape, data.length);
        ByteBuffer bb = ByteBuffer.allocate(8 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : data) bb.putLong(v);
        out.write(bb.array());
    }

    public static void writeInt64(Path file, int[] shape, long[] data) throws IOException {
        AtomicFiles.write(file, out -> writeInt64(out, shape, data));
    }

    /**
     * Reads a float32 .npy file of exactly {@code expectedShape} into {@code dst} at {@code offset}.
     * Throws WeightsException naming the file and what was expected/found; the file's size is checked
     * against the shape before it is read, and every value must be finite.
     */
    public static void read(Path file, int[] expectedShape, float[] dst, int offset) {
        long n = 1;
        for (int d : expectedShape) n *= d;
        byte[] bytes;
        try {
            long size = Files.size(file);
            // A header is at most 65535 + 12 bytes; anything larger is not this array.
            if (size > 4 * n + 65547)
                throw new WeightsException(file + ": " + size + " bytes, too large for a float32 array of shape "
                        + shape(expectedShape) + " (" + 4 * n + " data bytes)");
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new WeightsException(file + ": missing (expected a float32 array of shape " + shape(expectedShape) + ")");
        } catch (IOException e) {
            throw new WeightsException("cannot read " + file + ": " + IoErrors.reason(e), e);
        }
        float[] a = parse(bytes, file.toString(), expectedShape);
        int bad = firstNonFinite(a);
        if (bad >= 0)
            throw new WeightsException(file + ": element " + bad + " (flat index) is " + a[bad]
                    + "; every value must be a finite number");
        System.arraycopy(a, 0, dst, offset, a.length);
    }

    /** The .npy file in {@code bytes} as a flat float32 array; with {@code expectedShape} non-null its shape must be that. */
    public static float[] parse(byte[] bytes, String file, int[] expectedShape) {
        if (bytes.length < 10 || !Arrays.equals(Arrays.copyOf(bytes, 6), MAGIC))
            throw new WeightsException(file + ": not a .npy file (bad magic)");
        int major = bytes[6] & 0xff;
        int headerLen;
        long dataStart; // long: 12 + a corrupt 32-bit header length must not wrap around
        if (major == 1) {
            headerLen = (bytes[8] & 0xff) | (bytes[9] & 0xff) << 8;
            dataStart = 10L + headerLen;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw new WeightsException(file + ": truncated header");
            headerLen = ByteBuffer.wrap(bytes, 8, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
            dataStart = 12L + headerLen;
        } else {
            throw new WeightsException(file + ": unsupported .npy version " + major);
        }
        if (headerLen < 0 || dataStart > bytes.length) throw new WeightsException(file + ": truncated header");
        int start = (int) dataStart;
        String header = new String(bytes, start - headerLen, headerLen, StandardCharsets.ISO_8859_1);
        String descr = field(header, "descr", "'([^']*)'", file);
        if (!descr.equals("<f4") && !descr.equals("=f4") && !(descr.equals("|f4")))
            throw new WeightsException(file + ": dtype " + descr + ", expected float32 '<f4'");
        if (!field(header, "fortran_order", "(True|False)", file).equals("False"))
            throw new WeightsException(file + ": Fortran order, expected C order");
        String shapeText = field(header, "shape", "\\(([^)]*)\\)", file);
        int[] found;
        try {
            found = Arrays.stream(shapeText.split(",")).map(String::trim).filter(s -> !s.isEmpty())
                    .mapToInt(Integer::parseInt).toArray();
        } catch (NumberFormatException e) {
            throw new WeightsException(file + ": unreadable shape (" + shapeText + ")");
        }
        if (expectedShape != null && !Arrays.equals(found, expectedShape))
            throw new WeightsException(file + ": shape " + shape(found) + ", expected " + shape(expectedShape));
        long n = 1;
        for (int d : found) {
            if (d < 0) throw new WeightsException(file + ": negative dimension in shape " + shape(found));
            n *= d;
        }
        if (bytes.length - start != 4 * n)
            throw new WeightsException(file + ": " + (bytes.length - start) + " data bytes, expected " + 4 * n
                    + " for shape " + shape(found));
        float[] out = new float[(int) n];
        ByteBuffer.wrap(bytes, start, (int) (4 * n)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
        return out;
    }

    /** The .npy bytes of a 1-D float32 array. */
    public static byte[] bytes(float[] data) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(4 * data.length + 128);
        try {
            write(out, new int[] {data.length}, data, 0, data.length);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return out.toByteArray();
    }

    /** Index of the first NaN or ±Inf in {@code a}, or -1. */
    public static int firstNonFinite(float[] a) {
        for (int i = 0; i < a.length; i++) if (!Float.isFinite(a[i])) return i;
        return -1;
    }

    private static String field(String header, String key, String valueRegex, String file) {
        Matcher m = Pattern.compile("'" + key + "'\\s*:\\s*" + valueRegex).matcher(header);
        if (!m.find()) throw new WeightsException(file + ": header has no '" + key + "'");
        return m.group(1);
    }

    static String shape(int[] s) {
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < s.length; i++) sb.append(i > 0 ? ", " : "").append(s[i]);
        return sb.append(s.length == 1 ? ",)" : ")").toString();
    }

}
