package asymbp.data;

import java.nio.ByteOrder;
import java.util.function.Function;

/**
 * IDX files (LeCun's MNIST format, also Fashion-MNIST): a big-endian header
 * {@code 0x00 0x00 type ndim} followed by ndim 32-bit sizes, then the data. Images are type 0x08
 * (unsigned byte) with 3 dimensions (count, rows, columns), labels type 0x08 with 1 dimension.
 */
final class Idx {
    private Idx() {}

    static final int IMAGES_MAGIC = 0x00000803;
    static final int LABELS_MAGIC = 0x00000801;

    /** The four files of a split, in this order. */
    static final String[] ROLES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

    record Images(int count, int rows, int cols, byte[] pixels) {}

    static Images readImages(ByteSource s) {
        int magic = s.readInt(ByteOrder.BIG_ENDIAN, "IDX header");
        if (magic != IMAGES_MAGIC)
            throw new DatasetException(s.name + ": magic " + hex(magic) + ", expected " + hex(IMAGES_MAGIC)
                    + " (IDX images: unsigned bytes, 3 dimensions)" + hint(magic));
        int count = s.readInt(ByteOrder.BIG_ENDIAN, "IDX image count");
        int rows = s.readInt(ByteOrder.BIG_ENDIAN, "IDX row count");
        int cols = s.readInt(ByteOrder.BIG_ENDIAN, "IDX column count");
        if (count < 0 || rows <= 0 || cols <= 0 || rows > 65536 || cols > 65536)
            throw new DatasetException(s.name + ": bad dimensions " + Integer.toUnsignedString(count) + " x "
                    + Integer.toUnsignedString(rows) + " x " + Integer.toUnsignedString(cols)
                    + " in the IDX header (expected count >= 0 and 1..65536 rows and columns)");
        long total = (long) count * rows * cols;
        if (total > Integer.MAX_VALUE - 16)
            throw new DatasetException(s.name + ": " + count + " images of " + rows + "x" + cols + " = " + total
                    + " bytes, more than one Java array holds");
        byte[] pixels = s.readArray(total, count + " images of " + rows + "x" + cols);
        s.expectEnd("the header says " + count + " images of " + rows + "x" + cols);
        return new Images(count, rows, cols, pixels);
    }

    /** Reads labels; with classes &gt; 0 every label must lie in 0..classes-1. */
    static int[] readLabels(ByteSource s, int classes) {
        int magic = s.readInt(ByteOrder.BIG_ENDIAN, "IDX header");
        if (magic != LABELS_MAGIC)
            throw new DatasetException(s.name + ": magic " + hex(magic) + ", expected " + hex(LABELS_MAGIC)
                    + " (IDX labels: unsigned bytes, 1 dimension)" + hint(magic));
        int count = s.readInt(ByteOrder.BIG_ENDIAN, "IDX label count");
        if (count < 0)
            throw new DatasetException(s.name + ": bad label count " + Integer.toUnsignedString(count) + " in the IDX header");
        byte[] raw = s.readArray(count, count + " labels");
        s.expectEnd("the header says " + count + " labels");
        String lack = asymbp.io.Memory.shortage(4L * count);
        if (lack != null) throw new DatasetException(s.name + ": " + count + " labels " + lack);
        int[] labels = new int[count];
        for (int i = 0; i < count; i++) {
            labels[i] = raw[i] & 0xff;
            if (classes > 0 && labels[i] >= classes)
                throw new DatasetException(s.name + ": label " + labels[i] + " at index " + i + " (byte offset " + (8 + i)
                        + s.where() + ") outside 0.." + (classes - 1));
        }
        return labels;
    }

    /**
     * Loads a train/test pair of IDX image and label files.
     *
     * @param open    opens file i of {@link #ROLES} (hashing it when a checksum is given)
     * @param sha256  expected SHA-256 of each file's (decompressed) bytes, or null to skip the check
     * @param classes number of classes, or 0 to take max label + 1
     * @param rows    required image height, or 0 for any (likewise cols)
     */
    static Dataset load(String name, Function<Integer, ByteSource> open, String[] sha256, String checksumSource,
                        int classes, int rows, int cols) {
        Images[] images = new Images[2];
        int[][] labels = new int[2][];
        String[] names = new String[4];
        for (int split = 0; split < 2; split++) {
            try (ByteSource s = open.apply(2 * split)) {
                names[2 * split] = s.name;
                images[split] = readImages(s);
                if (sha256 != null) s.verifySha256(sha256[2 * split], checksumSource);
                if ((rows > 0 && images[split].rows() != rows) || (cols > 0 && images[split].cols() != cols))
                    throw new DatasetException(s.name + ": images are " + images[split].rows() + "x" + images[split].cols()
                            + ", expected " + rows + "x" + cols + " for " + name);
            }
            try (ByteSource s = open.apply(2 * split + 1)) {
                names[2 * split + 1] = s.name;
                labels[split] = readLabels(s, classes);
                if (sha256 != null) s.verifySha256(sha256[2 * split + 1], checksumSource);
            }
            if (images[split].count() != labels[split].length)
                throw new DatasetException(names[2 * split + 1] + ": " + labels[split].length + " labels but "
                        + names[2 * split] + " has " + images[split].count() + " images");
        }
        if (images[0].rows() != images[1].rows() || images[0].cols() != images[1].cols())
            throw new DatasetException(names[2] + ": test images are " + images[1].rows() + "x" + images[1].cols()
                    + " but " + names[0] + " has " + images[0].rows() + "x" + images[0].cols() + " training images");
        int k = classes;
        if (k <= 0) {
            for (int[] ls : labels) for (int l : ls) k = Math.max(k, l + 1);
            k = Math.max(k, 1);
        }
        return new Dataset(name, 1, images[0].rows(), images[0].cols(), k,
                images[0].pixels(), labels[0], images[1].pixels(), labels[1]);
    }

    static String hex(int v) {
        return String.format("0x%08x", v);
    }

    /** Recognises the usual mix-ups so the message can say what the file probably is. */
    private static String hint(int magic) {
        if (magic == IMAGES_MAGIC) return "; this looks like an image file";
        if (magic == LABELS_MAGIC) return "; this looks like a label file";
        if ((magic >>> 16) == 0x1f8b) return "; this looks like a gzip file that was not decompressed";
        if (Integer.reverseBytes(magic) == IMAGES_MAGIC || Integer.reverseBytes(magic) == LABELS_MAGIC)
            return "; the header was written little-endian, IDX is big-endian";
        return "";
    }
}
