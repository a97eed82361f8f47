package asymbp.data;

import static asymbp.data.TestFiles.assertFails;
import static asymbp.data.TestFiles.gzip;
import static asymbp.data.TestFiles.idxImages;
import static asymbp.data.TestFiles.idxLabels;
import static asymbp.data.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxLoaderTest {
    @TempDir Path dir;

    private final Random rnd = TestFiles.random("IdxLoaderTest");
    private final int rows = 5, cols = 7, nTrain = 13, nTest = 6;
    private final byte[] trainX = TestFiles.randomBytes(rnd, nTrain * rows * cols);
    private final byte[] testX = TestFiles.randomBytes(rnd, nTest * rows * cols);
    private final int[] trainY = TestFiles.randomLabels(rnd, nTrain, 10);
    private final int[] testY = TestFiles.randomLabels(rnd, nTest, 10);

    /** Writes the four files, gzipped or not, with the standard or the dotted names. */
    private void writeSet(boolean gz, boolean dotted) {
        byte[][] data = {idxImages(nTrain, rows, cols, trainX), idxLabels(trainY),
                idxImages(nTest, rows, cols, testX), idxLabels(testY)};
        for (int i = 0; i < 4; i++) {
            String name = Idx.ROLES[i];
            if (dotted) name = name.replaceFirst("-(idx\\d)", ".$1");
            write(dir.resolve(name + (gz ? ".gz" : "")), gz ? gzip(data[i]) : data[i]);
        }
    }

    private void check(Dataset d) {
        assertEquals(1, d.channels());
        assertEquals(rows, d.height());
        assertEquals(cols, d.width());
        assertArrayEquals(trainX, d.trainImages());
        assertArrayEquals(testX, d.testImages());
        assertArrayEquals(trainY, d.trainLabels());
        assertArrayEquals(testY, d.testLabels());
        int max = Math.max(Arrays.stream(trainY).max().getAsInt(), Arrays.stream(testY).max().getAsInt());
        assertEquals(max + 1, d.classes());
    }

    @Test
    void plainFiles() {
        writeSet(false, false);
        check(Datasets.load("idx:" + dir));
    }

    @Test
    void gzippedFiles() {
        writeSet(true, false);
        check(Datasets.load("idx:" + dir));
    }

    @Test
    void dottedNamesAndClassesOption() {
        writeSet(true, true);
        Dataset d = Datasets.load("idx:" + dir + "?classes=10");
        assertEquals(10, d.classes());
        assertArrayEquals(trainX, d.trainImages());
    }

    @Test
    void truncatedImages() {
        writeSet(false, false);
        byte[] full = idxImages(nTrain, rows, cols, trainX);
        write(dir.resolve("train-images-idx3-ubyte"), Arrays.copyOf(full, full.length - 3));
        assertFails("idx:" + dir, "train-images-idx3-ubyte", "truncated", "but the data ends at byte " + (full.length - 3));
    }

    @Test
    void truncatedGzip() {
        writeSet(true, false);
        byte[] gz = gzip(idxImages(nTest, rows, cols, testX));
        write(dir.resolve("t10k-images-idx3-ubyte.gz"), Arrays.copyOf(gz, gz.length / 2));
        assertFails("idx:" + dir, "t10k-images-idx3-ubyte.gz", "truncated", "decompressed data");
    }

    @Test
    void wrongMagic() {
        writeSet(true, false);
        // An image file where the labels should be.
        write(dir.resolve("train-labels-idx1-ubyte.gz"), gzip(idxImages(nTrain, rows, cols, trainX)));
        assertFails("idx:" + dir, "train-labels-idx1-ubyte.gz", "magic 0x00000803, expected 0x00000801 (IDX labels");
    }

    @Test
    void countMismatch() {
        writeSet(false, false);
        write(dir.resolve("t10k-labels-idx1-ubyte"), idxLabels(Arrays.copyOf(testY, nTest - 1)));
        assertFails("idx:" + dir, "t10k-labels-idx1-ubyte", (nTest - 1) + " labels but", nTest + " images");
    }

    @Test
    void labelOutOfRange() {
        writeSet(false, false);
        int[] bad = trainY.clone();
        bad[4] = 10;
        write(dir.resolve("train-labels-idx1-ubyte"), idxLabels(bad));
        assertFails("idx:" + dir + "?classes=10", "train-labels-idx1-ubyte", "label 10 at index 4", "outside 0..9");
    }

    @Test
    void trailingBytes() {
        writeSet(false, false);
        byte[] full = idxImages(nTrain, rows, cols, trainX);
        write(dir.resolve("train-images-idx3-ubyte"), Arrays.copyOf(full, full.length + 5));
        assertFails("idx:" + dir, "train-images-idx3-ubyte", "5 unexpected bytes after byte " + full.length);
    }

    @Test
    void badDimensions() {
        writeSet(false, false);
        write(dir.resolve("train-images-idx3-ubyte"), idxImages(nTrain, 0, cols, new byte[0]));
        assertFails("idx:" + dir, "train-images-idx3-ubyte", "bad dimensions");
        writeSet(false, false);
        write(dir.resolve("t10k-images-idx3-ubyte"), idxImages(nTest, cols, rows, testX));
        assertFails("idx:" + dir, "t10k-images-idx3-ubyte", "test images are " + cols + "x" + rows);
    }

    @Test
    void checksumMismatchIsReported() {
        // The path the named datasets take: the same loader with published SHA-256 values.
        writeSet(true, false);
        DatasetException e = org.junit.jupiter.api.Assertions.assertThrows(DatasetException.class,
                () -> Idx.load("mnist", i -> ByteSource.open(Datasets.idxFile(dir, Idx.ROLES[i]), true),
                        Checksums.MNIST, Checksums.SOURCE, 10, 0, 0));
        System.out.println("  expected failure: " + e.getMessage());
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("train-images-idx3-ubyte.gz: SHA-256 of the decompressed data is ")
                && e.getMessage().contains("expected " + Checksums.MNIST[0]), e.getMessage());
    }

    @Test
    void missingFileAndDirectory() throws Exception {
        writeSet(false, false);
        Files.delete(dir.resolve("t10k-labels-idx1-ubyte"));
        assertFails("idx:" + dir, "t10k-labels-idx1-ubyte", "file not found");
        assertFails("idx:" + dir.resolve("nope"), "nope", "directory not found");
    }
}
