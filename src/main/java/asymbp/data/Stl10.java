package asymbp.data;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * STL-10 binary ({@code stl10_binary}): train_X.bin / test_X.bin hold 96x96x3 uint8 images stored
 * column-major per channel (MATLAB order: all of red column by column, then green, then blue);
 * train_y.bin / test_y.bin hold one label byte per image, 1..10. Output is CHW row-major, labels 0..9.
 * The unlabeled split is not read.
 */
final class Stl10 {
    private Stl10() {}

    static final int SIDE = 96, PLANE = SIDE * SIDE, PIXELS = 3 * PLANE;

    static Dataset load(Path dir, String name) {
        Path d = Cifar.locate(dir, "stl10_binary", "train_X.bin");
        byte[][] x = new byte[2][];
        int[][] y = new int[2][];
        String[] split = {"train", "test"};
        for (int k = 0; k < 2; k++) {
            Path xf = d.resolve(split[k] + "_X.bin"), yf = d.resolve(split[k] + "_y.bin");
            y[k] = readLabels(yf);
            x[k] = readImages(xf, y[k].length, yf);
        }
        return new Dataset(name, 3, SIDE, SIDE, 10, x[0], y[0], x[1], y[1]);
    }

    static int[] readLabels(Path file) {
        long size = Cifar.sizeOf(file);
        if (size == 0) throw new DatasetException(file + ": empty file (expected one label byte per image)");
        if (size > Integer.MAX_VALUE) throw new DatasetException(file + ": " + size + " bytes, too large for a label file");
        try (ByteSource s = ByteSource.open(file, false)) {
            byte[] raw = new byte[(int) size];
            s.readFully(raw, 0, raw.length, size + " labels");
            s.expectEnd(size + " labels");
            int[] labels = new int[raw.length];
            for (int i = 0; i < raw.length; i++) {
                int l = raw[i] & 0xff;
                if (l < 1 || l > 10)
                    throw new DatasetException(file + ": label " + l + " at byte offset " + i + " outside 1..10");
                labels[i] = l - 1;
            }
            return labels;
        }
    }

    static byte[] readImages(Path file, int expected, Path labelFile) {
        long size = Cifar.sizeOf(file);
        if (size % PIXELS != 0)
            throw new DatasetException(file + ": " + size + " bytes is not a whole number of " + PIXELS
                    + "-byte 96x96x3 images (" + size / PIXELS + " images and " + size % PIXELS
                    + " bytes left over: truncated?)");
        long count = size / PIXELS;
        if (count != expected)
            throw new DatasetException(file + ": " + count + " images but " + labelFile + " has " + expected + " labels");
        if ((long) expected * PIXELS > Integer.MAX_VALUE - 16)
            throw new DatasetException(file + ": " + expected + " images, more than one Java array holds");
        ByteSource.requireMemory((long) expected * PIXELS, file + ": " + expected + " images of 96x96x3");
        byte[] out = new byte[expected * PIXELS];
        byte[] img = new byte[PIXELS];
        try (ByteSource s = ByteSource.open(file, false)) {
            for (int n = 0; n < expected; n++) {
                s.readFully(img, 0, PIXELS, "image " + n);
                int base = n * PIXELS;
                // Stored index c*PLANE + x*SIDE + y (column-major); output c*PLANE + y*SIDE + x.
                for (int c = 0; c < 3; c++)
                    for (int x = 0; x < SIDE; x++) {
                        int src = c * PLANE + x * SIDE, dst = base + c * PLANE + x;
                        for (int yy = 0; yy < SIDE; yy++) out[dst + yy * SIDE] = img[src + yy];
                    }
            }
            s.expectEnd(expected + " images");
        }
        return out;
    }
}
