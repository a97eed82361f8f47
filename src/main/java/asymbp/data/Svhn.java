package asymbp.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * SVHN cropped digits (format 2): train_32x32.mat and test_32x32.mat (optionally extra_32x32.mat,
 * appended to the training set), MATLAB 5 files holding X, uint8 32x32x3xN (MATLAB column-major, so
 * element (row, col, channel, n) is at row + 32*col + 1024*channel + 3072*n), and y, Nx1 labels 1..10
 * where 10 stands for the digit 0. Output is CHW row-major, labels 0..9 (digit value).
 */
final class Svhn {
    private Svhn() {}

    static final int SIDE = 32, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE;

    static Dataset load(Path dir, String name, boolean extra) {
        if (!Files.isDirectory(dir))
            throw new DatasetException(dir + ": " + (Files.exists(dir) ? "not a directory" : "directory not found")
                    + " (expected train_32x32.mat and test_32x32.mat)");
        Part train = read(dir.resolve("train_32x32.mat"));
        if (extra) {
            Part more = read(dir.resolve("extra_32x32.mat"));
            byte[] x = java.util.Arrays.copyOf(train.x, train.x.length + more.x.length);
            System.arraycopy(more.x, 0, x, train.x.length, more.x.length);
            int[] y = java.util.Arrays.copyOf(train.y, train.y.length + more.y.length);
            System.arraycopy(more.y, 0, y, train.y.length, more.y.length);
            train = new Part(x, y);
        }
        Part test = read(dir.resolve("test_32x32.mat"));
        return new Dataset(name, 3, SIDE, SIDE, 10, train.x, train.y, test.x, test.y);
    }

    record Part(byte[] x, int[] y) {}

    static Part read(Path file) {
        byte[][] x = new byte[1][];
        int[][] y = new int[1][];
        List<String> seen = new ArrayList<>();
        MatV5.read(file, new MatV5.Handler() {
            @Override public boolean wants(String n) {
                seen.add(n);
                return n.equals("X") || n.equals("y");
            }

            @Override public void variable(MatV5.Variable v) {
                if (v.name.equals("X")) x[0] = images(v);
                else y[0] = labels(v);
            }
        });
        if (x[0] == null || y[0] == null)
            throw new DatasetException(file + ": no numeric variable '" + (x[0] == null ? "X" : "y")
                    + "' (variables found: " + (seen.isEmpty() ? "none" : String.join(", ", seen)) + ")");
        if (x[0].length / PIXELS != y[0].length)
            throw new DatasetException(file + ": X holds " + x[0].length / PIXELS + " images but y holds "
                    + y[0].length + " labels");
        return new Part(x[0], y[0]);
    }

    private static byte[] images(MatV5.Variable v) {
        int[] d = v.dims;
        boolean shapeOk = (d.length == 4 || d.length == 3) && d[0] == SIDE && d[1] == SIDE && d[2] == 3;
        if (!shapeOk || v.mxClass != MatV5.MX_UINT8 || v.complex)
            throw new DatasetException(v.file + ": X is " + (v.complex ? "complex " : "") + MatV5.className(v.mxClass)
                    + " " + MatV5.dimsText(d) + ", expected uint8 32x32x3xN");
        int n = d.length == 4 ? d[3] : 1;
        if ((long) n * PIXELS > Integer.MAX_VALUE - 16)
            throw new DatasetException(v.file + ": X holds " + n + " images, more than one Java array holds");
        // Grown as images arrive: a header that declares more than the (compressed) file holds is
        // reported as truncated, never allocated.
        byte[] out = new byte[Math.min(n, 4096) * PIXELS];
        byte[] img = new byte[PIXELS];
        for (int k = 0; k < n; k++) {
            v.readBytes(img, 0, PIXELS, "image " + k + " of X");
            if ((k + 1) * PIXELS > out.length) {
                long grown = Math.min((long) n * PIXELS, 2L * out.length);
                ByteSource.requireMemory(grown, v.file + ": X with " + n + " images of 32x32x3");
                out = java.util.Arrays.copyOf(out, (int) grown);
            }
            int base = k * PIXELS;
            for (int c = 0; c < 3; c++)
                for (int col = 0; col < SIDE; col++) {
                    int src = c * PLANE + col * SIDE, dst = base + c * PLANE + col;
                    for (int row = 0; row < SIDE; row++) out[dst + row * SIDE] = img[src + row];
                }
        }
        return out;
    }

    private static int[] labels(MatV5.Variable v) {
        int[] d = v.dims;
        if (d.length != 2 || (d[0] != 1 && d[1] != 1) || v.complex)
            throw new DatasetException(v.file + ": y is " + (v.complex ? "complex " : "") + MatV5.className(v.mxClass)
                    + " " + MatV5.dimsText(d) + ", expected an Nx1 vector of labels");
        int n = Math.max(d[0], d[1]);
        if (d[0] == 0 || d[1] == 0) n = 0;
        int[] out = new int[Math.min(n, 1 << 16)];
        final int chunk = 1 << 16;
        for (int start = 0; start < n; start += chunk) {
            double[] vals = v.readDoubles(Math.min(chunk, n - start), "labels " + start + ".. of y");
            if (start + vals.length > out.length) {
                long grown = Math.min(n, 2L * out.length);
                ByteSource.requireMemory(4 * grown, v.file + ": y with " + n + " labels");
                out = java.util.Arrays.copyOf(out, (int) grown);
            }
            for (int i = 0; i < vals.length; i++) {
                double l = vals[i];
                if (l != Math.rint(l) || l < 1 || l > 10)
                    throw new DatasetException(v.file + ": y(" + (start + i + 1) + ") = " + l
                            + ", expected a label 1..10 (10 means the digit 0)");
                out[start + i] = (int) l % 10;
            }
        }
        return out;
    }
}
