package asymbp.data;

import java.io.BufferedInputStream;
import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PushbackInputStream;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * A sequential reader over one file (transparently gunzipped when it starts with the gzip magic) that
 * knows its position, so every failure can say which file, at which offset, and what was expected.
 * Optionally hashes the (decompressed) bytes it passes through with SHA-256.
 */
final class ByteSource implements Closeable {
    private static final int BUFFER = 1 << 16;

    /** How messages name the file: its path, or "classpath:..." for embedded resources. */
    final String name;
    private final boolean gzipped;
    private final PushbackInputStream in;
    private final MessageDigest digest;
    private long offset;
    private final byte[] scratch = new byte[8];
    /** The file's length when known (a plain file), else -1. */
    private final long size;

    private ByteSource(String name, InputStream raw, boolean detectGzip, boolean hash, long size) {
        this.name = name;
        try {
            InputStream buffered = raw instanceof BufferedInputStream ? raw : new BufferedInputStream(raw, BUFFER);
            boolean gz = false;
            if (detectGzip) {
                buffered.mark(2);
                int b0 = buffered.read(), b1 = buffered.read();
                buffered.reset();
                gz = b0 == 0x1f && b1 == 0x8b;
            }
            this.gzipped = gz;
            this.size = gz ? -1 : size;
            InputStream s = gz ? new BufferedInputStream(new GZIPInputStream(buffered, BUFFER), BUFFER) : buffered;
            this.digest = hash ? sha256() : null;
            // The pushback (not mark/reset) lets atEnd() peek without hashing a byte twice.
            this.in = new PushbackInputStream(hash ? new DigestInputStream(s, digest) : s, 1);
        } catch (ZipException e) {
            throw new DatasetException(name + ": not a valid gzip file (" + e.getMessage() + ")", e);
        } catch (EOFException e) {
            throw new DatasetException(name + ": truncated gzip header", e);
        } catch (IOException e) {
            throw new DatasetException(name + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    /** Opens a file; a missing file is reported as such. */
    static ByteSource open(Path file, boolean hash) {
        if (!Files.isRegularFile(file))
            throw new DatasetException(file + ": " + (Files.exists(file) ? "not a regular file" : "file not found"));
        try {
            return new ByteSource(file.toString(), Files.newInputStream(file), true, hash, Files.size(file));
        } catch (NoSuchFileException e) {
            throw new DatasetException(file + ": file not found", e);
        } catch (IOException e) {
            throw new DatasetException(file + ": cannot open (" + e.getMessage() + ")", e);
        }
    }

    /** Wraps an already-open stream (a classpath resource, or an inflated MAT element). */
    static ByteSource of(String name, InputStream raw, boolean detectGzip, boolean hash) {
        return new ByteSource(name, raw, detectGzip, hash, -1);
    }

    boolean gzipped() { return gzipped; }

    /** Bytes consumed so far (of the decompressed data when gzipped). */
    long offset() { return offset; }

    /** " of the decompressed data" for gzipped files, so offsets are not mistaken for file offsets. */
    String where() { return gzipped ? " of the decompressed data" : ""; }

    /** Reads exactly len bytes or fails naming what was being read and where the data ended. */
    void readFully(byte[] b, int off, int len, String what) {
        long start = offset;
        int done = 0;
        try {
            while (done < len) {
                int n = in.read(b, off + done, len - done);
                if (n < 0) break;
                done += n;
                offset += n;
            }
        } catch (IOException e) {
            throw failure(e, what, start, len);
        }
        if (done < len)
            throw new DatasetException(name + ": truncated: " + what + " needs bytes " + start + ".." + (start + len)
                    + where() + " but the data ends at byte " + offset);
    }

    /**
     * Reads n bytes into a new array, allocating only what the data can fill: a plain file's length
     * is checked against n before anything is allocated, and so is the memory the JVM has left; a
     * gzipped stream (whose length is unknown) is read into an array grown as data arrives, so a
     * header that claims more than the file holds is reported as truncated, not as out of memory.
     */
    byte[] readArray(long n, String what) {
        if (n < 0 || n > Integer.MAX_VALUE - 16)
            throw new DatasetException(name + ": " + what + " = " + n + " bytes, more than one Java array holds");
        long start = offset;
        if (size >= 0 && start + n > size)
            throw new DatasetException(name + ": truncated: " + what + " needs bytes " + start + ".." + (start + n)
                    + " but the data ends at byte " + size + " (the file's length)");
        String who = name + ": " + what + " (" + n + " bytes)";
        int first = (int) Math.min(n, size >= 0 ? n : 1 << 20);
        requireMemory(first, who); // before the allocation: an OutOfMemoryError would come first
        byte[] b = new byte[first];
        int done = 0;
        while (done < n) {
            if (done == b.length) {
                int grown = (int) Math.min(n, 2L * b.length);
                requireMemory(grown, who);
                b = java.util.Arrays.copyOf(b, grown);
            }
            int r;
            try {
                r = in.read(b, done, b.length - done);
            } catch (IOException e) {
                throw failure(e, what, start, n);
            }
            if (r < 0)
                throw new DatasetException(name + ": truncated: " + what + " needs bytes " + start + ".." + (start + n)
                        + where() + " but the data ends at byte " + offset);
            done += r;
            offset += r;
        }
        return b;
    }

    /** Fails naming {@code who} when the JVM cannot allocate {@code bytes} more. */
    static void requireMemory(long bytes, String who) {
        String lack = asymbp.io.Memory.shortage(bytes);
        if (lack != null) throw new DatasetException(who + " " + lack);
    }

    /** A plain InputStream view that keeps this source's offset and digest up to date (for text formats). */
    InputStream asStream(String what) {
        return new InputStream() {
            @Override public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override public int read(byte[] b, int off, int len) {
                if (len == 0) return 0;
                try {
                    int n = in.read(b, off, len);
                    if (n > 0) offset += n;
                    return n;
                } catch (IOException e) {
                    throw failure(e, what, offset, len);
                }
            }
        };
    }

    /**
     * The next n raw bytes as a stream (for a compressed element inside a file); reading past them
     * gives end-of-stream, and a file that ends first is reported as truncated.
     */
    InputStream slice(long n, String what) {
        long start = offset;
        return new InputStream() {
            long left = n;

            @Override public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override public int read(byte[] b, int off, int len) {
                if (left == 0) return -1;
                if (len == 0) return 0;
                try {
                    int r = in.read(b, off, (int) Math.min(len, left));
                    if (r < 0)
                        throw new DatasetException(name + ": truncated: " + what + " needs bytes " + start + ".."
                                + (start + n) + where() + " but the data ends at byte " + offset);
                    left -= r;
                    offset += r;
                    return r;
                } catch (IOException e) {
                    throw failure(e, what, start, n);
                }
            }
        };
    }

    int readU8(String what) {
        readFully(scratch, 0, 1, what);
        return scratch[0] & 0xff;
    }

    int readInt(ByteOrder order, String what) {
        readFully(scratch, 0, 4, what);
        int b0 = scratch[0] & 0xff, b1 = scratch[1] & 0xff, b2 = scratch[2] & 0xff, b3 = scratch[3] & 0xff;
        return order == ByteOrder.BIG_ENDIAN ? (b0 << 24) | (b1 << 16) | (b2 << 8) | b3
                : (b3 << 24) | (b2 << 16) | (b1 << 8) | b0;
    }

    int readShort(ByteOrder order, String what) {
        readFully(scratch, 0, 2, what);
        int b0 = scratch[0] & 0xff, b1 = scratch[1] & 0xff;
        return order == ByteOrder.BIG_ENDIAN ? (b0 << 8) | b1 : (b1 << 8) | b0;
    }

    /** Skips n bytes, failing like readFully if the data ends first. */
    void skip(long n, String what) {
        long start = offset;
        byte[] buf = new byte[(int) Math.min(BUFFER, Math.max(1, n))];
        long left = n;
        try {
            while (left > 0) {
                // Reading (not InputStream.skip) so a digest sees every byte and EOF is detected exactly.
                int r = in.read(buf, 0, (int) Math.min(buf.length, left));
                if (r < 0) break;
                left -= r;
                offset += r;
            }
        } catch (IOException e) {
            throw failure(e, what, start, n);
        }
        if (left > 0)
            throw new DatasetException(name + ": truncated: " + what + " needs bytes " + start + ".." + (start + n)
                    + where() + " but the data ends at byte " + offset);
    }

    /** True when no bytes are left. */
    boolean atEnd() {
        try {
            int b = in.read();
            if (b < 0) return true;
            in.unread(b);
            return false;
        } catch (IOException e) {
            throw failure(e, "end of data", offset, 1);
        }
    }

    /** Fails if anything follows the data the header described (a file of the wrong shape). */
    void expectEnd(String description) {
        if (atEnd()) return;
        long extra = 0;
        long at = offset;
        byte[] buf = new byte[BUFFER];
        try {
            for (int r; (r = in.read(buf)) > 0; ) extra += r;
        } catch (IOException e) {
            throw failure(e, "trailing data", offset, 1);
        }
        throw new DatasetException(name + ": " + extra + " unexpected bytes after byte " + at + where()
                + " (" + description + ")");
    }

    /** Hex SHA-256 of everything read so far; only when opened with hash = true. */
    String sha256Hex() {
        return HexFormat.of().formatHex(digest.digest());
    }

    /** Checks the SHA-256 of the whole data against the published value (call after reading to the end). */
    void verifySha256(String expected, String source) {
        String got = sha256Hex();
        if (!got.equalsIgnoreCase(expected))
            throw new DatasetException(name + ": SHA-256" + (gzipped ? " of the decompressed data" : "") + " is " + got
                    + ", expected " + expected + " (" + source + "); the file is corrupt or a different version");
    }

    private DatasetException failure(IOException e, String what, long start, long len) {
        if (e instanceof EOFException)
            return new DatasetException(name + ": truncated" + (gzipped ? " gzip stream" : "") + ": " + what
                    + " needs bytes " + start + ".." + (start + len) + where() + " but the data ends at byte " + offset, e);
        if (e instanceof ZipException)
            return new DatasetException(name + ": corrupt compressed data near byte " + offset + where()
                    + " while reading " + what + " (" + e.getMessage() + ")", e);
        return new DatasetException(name + ": read error at byte " + offset + where() + " while reading " + what
                + " (" + e.getMessage() + ")", e);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }

    @Override
    public void close() {
        try {
            in.close();
        } catch (IOException ignored) {
            // Nothing useful to do: the data has been read (or the error already reported).
        }
    }
}
