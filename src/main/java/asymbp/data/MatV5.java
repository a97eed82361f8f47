package asymbp.data;

import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.zip.Inflater;
import java.util.zip.InflaterInputStream;

/**
 * A streaming reader for MATLAB Level 5 MAT-files (written by {@code save -v6} and {@code -v7}): a
 * 128-byte header, then data elements, each an 8-byte tag (type, byte count) or a "small element"
 * (byte count in the tag's upper half, up to 4 bytes of data in its second word). Top-level variables
 * are miMATRIX elements, or miCOMPRESSED ones holding a zlib-deflated miMATRIX (how -v7 files, like
 * SVHN's, are stored). Only the numeric arrays a caller asks for are read; everything else is skipped
 * without being decompressed. Version 7.3 files are HDF5 and are rejected with a message saying so.
 */
final class MatV5 {
    private MatV5() {}

    // Data types (the tag's type field).
    static final int MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6,
            MI_SINGLE = 7, MI_DOUBLE = 9, MI_INT64 = 12, MI_UINT64 = 13, MI_MATRIX = 14, MI_COMPRESSED = 15,
            MI_UTF8 = 16, MI_UTF16 = 17, MI_UTF32 = 18;
    // Array classes (low byte of the array flags).
    static final int MX_DOUBLE = 6, MX_SINGLE = 7, MX_INT8 = 8, MX_UINT8 = 9, MX_INT16 = 10, MX_UINT16 = 11,
            MX_INT32 = 12, MX_UINT32 = 13, MX_INT64 = 14, MX_UINT64 = 15;

    /** Bytes per element of a numeric data type, 0 if not numeric. */
    static int sizeOf(int type) {
        switch (type) {
            case MI_INT8: case MI_UINT8: return 1;
            case MI_INT16: case MI_UINT16: return 2;
            case MI_INT32: case MI_UINT32: case MI_SINGLE: return 4;
            case MI_DOUBLE: case MI_INT64: case MI_UINT64: return 8;
            default: return 0;
        }
    }

    static String typeName(int type) {
        String[] names = {"?", "miINT8", "miUINT8", "miINT16", "miUINT16", "miINT32", "miUINT32", "miSINGLE", "?",
                "miDOUBLE", "?", "?", "miINT64", "miUINT64", "miMATRIX", "miCOMPRESSED", "miUTF8", "miUTF16", "miUTF32"};
        return type >= 0 && type < names.length && !names[type].equals("?") ? names[type] : "type " + type;
    }

    static String className(int mx) {
        String[] names = {"?", "cell", "struct", "object", "char", "sparse", "double", "single", "int8", "uint8",
                "int16", "uint16", "int32", "uint32", "int64", "uint64"};
        return mx >= 0 && mx < names.length && !names[mx].equals("?") ? names[mx] : "class " + mx;
    }

    /** A numeric top-level variable: its header and a reader positioned at its real-part data. */
    static final class Variable {
        final String file;
        final String name;
        final int mxClass;
        final boolean complex;
        final int[] dims;
        /** The data's storage type (MATLAB stores e.g. a double array of small integers as miUINT8). */
        final int dataType;
        final long count;
        private final ByteSource src;
        private final ByteOrder order;
        private final byte[] inline;
        private int inlinePos;
        private long consumed;

        Variable(String file, String name, int mxClass, boolean complex, int[] dims, int dataType, long bytes,
                 ByteSource src, ByteOrder order, byte[] inline) {
            this.file = file;
            this.name = name;
            this.mxClass = mxClass;
            this.complex = complex;
            this.dims = dims;
            this.dataType = dataType;
            this.count = bytes / sizeOf(dataType);
            this.src = src;
            this.order = order;
            this.inline = inline;
        }

        /** Reads the next len elements of miUINT8 data. */
        void readBytes(byte[] dst, int off, int len, String what) {
            if (dataType != MI_UINT8)
                throw new DatasetException(file + ": variable '" + name + "' is stored as " + typeName(dataType)
                        + ", expected miUINT8 (uint8 data)");
            take(len, what);
            if (inline != null) {
                System.arraycopy(inline, inlinePos, dst, off, len);
                inlinePos += len;
            } else {
                src.readFully(dst, off, len, what);
            }
        }

        /** Reads the next n elements of any numeric storage type as doubles. */
        double[] readDoubles(int n, String what) {
            int size = sizeOf(dataType);
            take(n, what);
            byte[] raw = new byte[n * size];
            if (inline != null) {
                System.arraycopy(inline, inlinePos, raw, 0, raw.length);
                inlinePos += raw.length;
            } else {
                src.readFully(raw, 0, raw.length, what);
            }
            java.nio.ByteBuffer bb = java.nio.ByteBuffer.wrap(raw).order(order);
            double[] out = new double[n];
            for (int i = 0; i < n; i++) {
                switch (dataType) {
                    case MI_INT8: out[i] = bb.get(); break;
                    case MI_UINT8: out[i] = bb.get() & 0xff; break;
                    case MI_INT16: out[i] = bb.getShort(); break;
                    case MI_UINT16: out[i] = bb.getShort() & 0xffff; break;
                    case MI_INT32: out[i] = bb.getInt(); break;
                    case MI_UINT32: out[i] = bb.getInt() & 0xffffffffL; break;
                    case MI_SINGLE: out[i] = bb.getFloat(); break;
                    case MI_DOUBLE: out[i] = bb.getDouble(); break;
                    case MI_INT64: out[i] = bb.getLong(); break;
                    default: {
                        long v = bb.getLong();
                        out[i] = v >= 0 ? (double) v : (double) (v >>> 1) * 2.0;
                    }
                }
            }
            return out;
        }

        private void take(long n, String what) {
            if (consumed + n > count)
                throw new DatasetException(file + ": variable '" + name + "': " + what + " needs elements " + consumed
                        + ".." + (consumed + n) + " but only " + count + " are stored");
            consumed += n;
        }
    }

    /** Receives each numeric top-level variable; may read its data or ignore it (it is then skipped). */
    interface Handler {
        /** Whether to decode this variable (by name), before its data is touched. */
        boolean wants(String name);

        void variable(Variable v);
    }

    /** Reads a MAT-file, handing the wanted numeric variables to the handler. */
    static void read(Path file, Handler handler) {
        try (ByteSource s = ByteSource.open(file, false)) {
            String f = s.name;
            if (s.gzipped())
                throw new DatasetException(f + ": is gzip-compressed; decompress it first (MAT-files are not gzipped)");
            byte[] header = new byte[128];
            s.readFully(header, 0, 128, "the 128-byte MAT-file header");
            String text = new String(header, 0, 116, StandardCharsets.ISO_8859_1).strip();
            char e0 = (char) header[126], e1 = (char) header[127];
            ByteOrder order;
            if (e0 == 'I' && e1 == 'M') order = ByteOrder.LITTLE_ENDIAN;
            else if (e0 == 'M' && e1 == 'I') order = ByteOrder.BIG_ENDIAN;
            else if (text.startsWith("MATLAB 7.3") || text.startsWith("\u0089HDF"))
                throw new DatasetException(f + ": a MATLAB 7.3 (HDF5) MAT-file; only Level 5 MAT-files (save -v7 or -v6) are read");
            else
                throw new DatasetException(f + ": not a MATLAB 5 MAT-file: endian indicator at offset 126 is "
                        + String.format("0x%02x%02x", header[126], header[127]) + ", expected 'IM' or 'MI'");
            int version = order == ByteOrder.LITTLE_ENDIAN ? (header[124] & 0xff) | (header[125] & 0xff) << 8
                    : (header[124] & 0xff) << 8 | (header[125] & 0xff);
            if (version == 0x0200)
                throw new DatasetException(f + ": a MATLAB 7.3 (HDF5) MAT-file; only Level 5 MAT-files (save -v7 or -v6) are read");
            if (version != 0x0100)
                throw new DatasetException(f + ": MAT-file version 0x" + Integer.toHexString(version)
                        + " at offset 124, expected 0x0100 (Level 5)");

            while (!s.atEnd()) {
                long at = s.offset();
                long[] tag = readTag(s, order, "data element tag at byte " + at);
                int type = (int) tag[0];
                long bytes = tag[1];
                if (tag[2] != 0) { // a small element at top level: nothing we want
                    s.skip(4, "small data element");
                    continue;
                }
                if (type == MI_COMPRESSED) {
                    String name = f + " [zlib element at byte " + at + "]";
                    Inflater inflater = new Inflater();
                    java.io.InputStream raw = s.slice(bytes, "compressed element at byte " + at);
                    try (ByteSource z = ByteSource.of(name, new InflaterInputStream(raw, inflater, 1 << 16), false, false)) {
                        long[] inner = readTag(z, order, "the tag inside the compressed element");
                        if (inner[0] == MI_MATRIX && inner[2] == 0) matrix(z, f, order, inner[1], handler);
                    } finally {
                        inflater.end();
                    }
                    // Whatever the matrix reader did not need is skipped without inflating it.
                    s.skip(at + 8 + bytes - s.offset(), "rest of the compressed element at byte " + at);
                } else if (type == MI_MATRIX) {
                    matrix(s, f, order, bytes, handler);
                    s.skip(at + 8 + bytes - s.offset(), "rest of the matrix at byte " + at);
                } else {
                    s.skip(bytes, typeName(type) + " element at byte " + at);
                }
            }
        }
    }

    /** Tag: {type, byte count, 1 if small-element format (its ≤4 data bytes follow in the same 8 bytes)}. */
    private static long[] readTag(ByteSource s, ByteOrder order, String what) {
        int w0 = s.readInt(order, what);
        if ((w0 >>> 16) != 0) return new long[] {w0 & 0xffff, w0 >>> 16, 1};
        int w1 = s.readInt(order, what);
        return new long[] {w0, w1 & 0xffffffffL, 0};
    }

    /** A sub-element's bytes: small elements inline, others padded to 8 bytes. */
    private static byte[] readSub(ByteSource s, ByteOrder order, String what, int expectType, String file) {
        long at = s.offset();
        long[] tag = readTag(s, order, what);
        if (expectType != 0 && tag[0] != expectType && !(expectType == MI_INT8 && tag[0] == MI_UTF8))
            throw new DatasetException(file + ": " + what + " at byte " + at + s.where() + " has type "
                    + typeName((int) tag[0]) + ", expected " + typeName(expectType));
        if (tag[1] > 1 << 20)
            throw new DatasetException(file + ": " + what + " at byte " + at + s.where() + " claims " + tag[1] + " bytes");
        byte[] b = new byte[(int) tag[1]];
        if (tag[2] != 0) {
            byte[] four = new byte[4];
            s.readFully(four, 0, 4, what);
            System.arraycopy(four, 0, b, 0, b.length);
        } else {
            s.readFully(b, 0, b.length, what);
            s.skip((8 - b.length % 8) % 8, what + " padding");
        }
        return b;
    }

    private static void matrix(ByteSource s, String file, ByteOrder order, long bytes, Handler handler) {
        if (bytes == 0) return; // an empty placeholder
        java.nio.ByteBuffer flags = java.nio.ByteBuffer.wrap(readSub(s, order, "array flags", MI_UINT32, file)).order(order);
        if (flags.capacity() < 8)
            throw new DatasetException(file + ": array flags are " + flags.capacity() + " bytes, expected 8");
        int flagWord = flags.getInt(0);
        int mxClass = flagWord & 0xff;
        boolean complex = (flagWord & 0x800) != 0;
        if (mxClass < MX_DOUBLE || mxClass > MX_UINT64) return; // cell, struct, char, sparse, object: skipped
        java.nio.ByteBuffer dimBytes = java.nio.ByteBuffer.wrap(readSub(s, order, "dimensions", MI_INT32, file)).order(order);
        int[] dims = new int[dimBytes.capacity() / 4];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = dimBytes.getInt(4 * i);
            if (dims[i] < 0)
                throw new DatasetException(file + ": negative dimension " + dims[i] + " in a matrix header");
        }
        String name = new String(readSub(s, order, "array name", MI_INT8, file), StandardCharsets.UTF_8);
        if (!handler.wants(name)) return;
        long at = s.offset();
        long[] tag = readTag(s, order, "data of '" + name + "'");
        int type = (int) tag[0];
        int size = sizeOf(type);
        if (size == 0)
            throw new DatasetException(file + ": variable '" + name + "' data at byte " + at + s.where() + " has type "
                    + typeName(type) + ", expected a numeric type");
        long expected = 1;
        for (int d : dims) expected *= d;
        if (tag[1] != expected * size)
            throw new DatasetException(file + ": variable '" + name + "' (" + className(mxClass) + ", dims "
                    + dimsText(dims) + ") stores " + tag[1] + " bytes of " + typeName(type) + ", expected "
                    + expected * size + " (" + expected + " elements)");
        byte[] inline = null;
        if (tag[2] != 0) {
            inline = new byte[4];
            s.readFully(inline, 0, 4, "data of '" + name + "'");
        }
        handler.variable(new Variable(file, name, mxClass, complex, dims, type, tag[1], s, order, inline));
    }

    static String dimsText(int[] dims) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < dims.length; i++) b.append(i == 0 ? "" : "x").append(dims[i]);
        return b.toString();
    }
}
