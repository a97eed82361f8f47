package asymbp.data;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.zip.Deflater;

/**
 * Writes MATLAB Level 5 MAT-files as MATLAB does (for tests only): 128-byte header, miMATRIX elements
 * with array flags, dimensions, name (small-element format when ≤ 4 bytes) and real data, each
 * sub-element padded to 8 bytes; optionally each variable wrapped in a zlib miCOMPRESSED element.
 */
final class MatWriter {
    static final int MI_INT8 = 1, MI_UINT8 = 2, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6, MI_DOUBLE = 9,
            MI_MATRIX = 14, MI_COMPRESSED = 15;
    static final int MX_CHAR = 4, MX_DOUBLE = 6, MX_UINT8 = 9;

    private final ByteOrder order;
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    MatWriter(ByteOrder order) {
        this(order, 0x0100);
    }

    MatWriter(ByteOrder order, int version) {
        this.order = order;
        byte[] header = new byte[128];
        Arrays.fill(header, 0, 116, (byte) ' ');
        byte[] text = ("MATLAB 5.0 MAT-file, Platform: GLNXA64, Created on: Fri Nov 27 06:00:00 2026").getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(text, 0, header, 0, text.length);
        ByteBuffer b = ByteBuffer.wrap(header).order(order);
        b.putShort(124, (short) version);
        // 'M','I' written as a 16-bit value in the file's byte order.
        b.putShort(126, (short) (('M' << 8) | 'I'));
        out.writeBytes(header);
    }

    /** A numeric variable; data is already in the file's byte order, of the given storage type. */
    MatWriter variable(String name, int mxClass, int[] dims, int dataType, byte[] data, boolean compress) {
        ByteArrayOutputStream m = new ByteArrayOutputStream();
        ByteBuffer flags = ByteBuffer.allocate(8).order(order).putInt(mxClass).putInt(0);
        element(m, MI_UINT32, flags.array());
        ByteBuffer d = ByteBuffer.allocate(4 * dims.length).order(order);
        for (int x : dims) d.putInt(x);
        element(m, MI_INT32, d.array());
        element(m, MI_INT8, name.getBytes(StandardCharsets.US_ASCII));
        element(m, dataType, data);
        byte[] content = m.toByteArray();
        ByteArrayOutputStream whole = new ByteArrayOutputStream();
        whole.writeBytes(tag(MI_MATRIX, content.length));
        whole.writeBytes(content);
        if (!compress) {
            out.writeBytes(whole.toByteArray());
        } else {
            Deflater def = new Deflater();
            def.setInput(whole.toByteArray());
            def.finish();
            ByteArrayOutputStream z = new ByteArrayOutputStream();
            byte[] buf = new byte[4096];
            while (!def.finished()) z.write(buf, 0, def.deflate(buf));
            def.end();
            out.writeBytes(tag(MI_COMPRESSED, z.size()));
            out.writeBytes(z.toByteArray());
        }
        return this;
    }

    /** A char variable (stored as miUINT16), which readers of numeric data must skip. */
    MatWriter text(String name, String value, boolean compress) {
        ByteBuffer b = ByteBuffer.allocate(2 * value.length()).order(order);
        for (char c : value.toCharArray()) b.putShort((short) c);
        return variable(name, MX_CHAR, new int[] {1, value.length()}, MI_UINT16, b.array(), compress);
    }

    byte[] bytes() {
        return out.toByteArray();
    }

    byte[] doubles(double... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(order);
        for (double x : v) b.putDouble(x);
        return b.array();
    }

    private byte[] tag(int type, int bytes) {
        return ByteBuffer.allocate(8).order(order).putInt(type).putInt(bytes).array();
    }

    private void element(ByteArrayOutputStream m, int type, byte[] data) {
        if (data.length <= 4 && data.length > 0) {
            ByteBuffer small = ByteBuffer.allocate(8).order(order).putInt((data.length << 16) | type);
            small.put(data);
            m.writeBytes(small.array());
            return;
        }
        m.writeBytes(tag(type, data.length));
        m.writeBytes(data);
        m.writeBytes(new byte[(8 - data.length % 8) % 8]);
    }
}
