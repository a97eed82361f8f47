package asymbp.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * CIFAR-10 and CIFAR-100 binary versions. CIFAR-10 ({@code cifar-10-batches-bin}): data_batch_1..5.bin
 * and test_batch.bin, records of 1 label byte + 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each
 * 32x32 row-major, i.e. already CHW). CIFAR-100 ({@code cifar-100-binary}): train.bin and test.bin,
 * records of a coarse label byte (0..19), a fine label byte (0..99) and the 3072 pixels.
 */
final class Cifar {
    private Cifar() {}

    static final int PIXELS = 3 * 32 * 32;
    static final String[] CIFAR10_TRAIN = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
            "data_batch_4.bin", "data_batch_5.bin"};
    static final String CIFAR10_TEST = "test_batch.bin";

    static Dataset load10(Path dir, String name) {
        Path d = locate(dir, "cifar-10-batches-bin", CIFAR10_TEST);
        Records train = new Records();
        for (String f : CIFAR10_TRAIN) read(d.resolve(f), 1, 0, 10, train);
        Records test = new Records();
        read(d.resolve(CIFAR10_TEST), 1, 0, 10, test);
        return new Dataset(name, 3, 32, 32, 10, train.pixels(), train.labels(), test.pixels(), test.labels());
    }

    static Dataset load100(Path dir, String name, boolean coarse) {
        Path d = locate(dir, "cifar-100-binary", "test.bin");
        int labelIndex = coarse ? 0 : 1, classes = coarse ? 20 : 100;
        Records train = new Records();
        read(d.resolve("train.bin"), 2, labelIndex, classes, train);
        Records test = new Records();
        read(d.resolve("test.bin"), 2, labelIndex, classes, test);
        return new Dataset(name, 3, 32, 32, classes, train.pixels(), train.labels(), test.pixels(), test.labels());
    }

    /** The directory itself, or its standard subdirectory (the tarball's top folder). */
    static Path locate(Path dir, String sub, String marker) {
        if (!Files.isDirectory(dir))
            throw new DatasetException(dir + ": " + (Files.exists(dir) ? "not a directory" : "directory not found")
                    + " (expected " + marker + " and the rest of the set, or a " + sub + "/ folder holding them)");
        if (!Files.exists(dir.resolve(marker)) && Files.isDirectory(dir.resolve(sub))) return dir.resolve(sub);
        return dir;
    }

    /** Growable record store; sized from the file length so plain files are read without copying. */
    static final class Records {
        byte[] pixels = new byte[0];
        int[] labels = new int[0];
        int count;

        void ensure(int n, Path file) {
            if (n <= labels.length) return;
            long want = Math.max(n, labels.length * 2L);
            if (want * PIXELS > Integer.MAX_VALUE - 16)
                throw new DatasetException(file + ": " + want + " images of 32x32x3, more than one Java array holds");
            ByteSource.requireMemory(want * (PIXELS + 4), file + ": " + want + " images of 32x32x3");
            int cap = (int) want;
            pixels = Arrays.copyOf(pixels, cap * PIXELS);
            labels = Arrays.copyOf(labels, cap);
        }

        byte[] pixels() { return pixels.length == count * PIXELS ? pixels : Arrays.copyOf(pixels, count * PIXELS); }
        int[] labels() { return labels.length == count ? labels : Arrays.copyOf(labels, count); }
    }

    /** Appends the records of one batch file; labelBytes label bytes precede each image. */
    static void read(Path file, int labelBytes, int labelIndex, int classes, Records out) {
        int record = labelBytes + PIXELS;
        long size = sizeOf(file);
        try (ByteSource s = ByteSource.open(file, false)) {
            if (!s.gzipped()) {
                if (size == 0) throw new DatasetException(file + ": empty file (expected " + record + "-byte records)");
                if (size % record != 0)
                    throw new DatasetException(file + ": " + size + " bytes is not a whole number of " + record
                            + "-byte records (" + size / record + " records and " + size % record
                            + " bytes left over: truncated or not a CIFAR binary batch)");
                out.ensure((int) Math.min(Integer.MAX_VALUE, out.count + size / record), file);
            }
            byte[] head = new byte[labelBytes];
            int n = 0;
            while (!s.atEnd()) {
                long at = s.offset();
                s.readFully(head, 0, labelBytes, "the label of record " + n);
                out.ensure(out.count + 1, file);
                s.readFully(out.pixels, out.count * PIXELS, PIXELS, "the pixels of record " + n);
                for (int k = 0; k < labelBytes; k++) {
                    int l = head[k] & 0xff, limit = labelBytes == 2 && k == 0 ? 20 : labelBytes == 2 ? 100 : classes;
                    if (l >= limit)
                        throw new DatasetException(file + ": " + (labelBytes == 2 ? (k == 0 ? "coarse " : "fine ") : "")
                                + "label " + l + " in record " + n + " (byte offset " + (at + k) + s.where()
                                + ") outside 0.." + (limit - 1));
                }
                out.labels[out.count++] = head[labelIndex] & 0xff;
                n++;
            }
            if (n == 0) throw new DatasetException(file + ": no records (expected " + record + "-byte records)");
        }
    }

    static long sizeOf(Path file) {
        try {
            return Files.size(file);
        } catch (java.io.IOException e) {
            throw new DatasetException(file + ": " + (Files.exists(file) ? "cannot read (" + e.getMessage() + ")" : "file not found"));
        }
    }
}
