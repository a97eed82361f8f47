package asymbp.data;

import static asymbp.data.TestFiles.assertFails;
import static asymbp.data.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-10/100 binary batches and STL-10 binary files, written here in exactly the published layouts. */
class CifarStlLoaderTest {
    @TempDir Path dir;

    private final Random rnd = TestFiles.random("CifarStlLoaderTest");

    /** One CIFAR batch: per record the label byte(s), then 3072 CHW pixels. */
    private static byte[] cifarBatch(int[][] labels, byte[] pixels) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int n = 0; n < labels.length; n++) {
            for (int l : labels[n]) b.write(l);
            b.write(pixels, n * 3072, 3072);
        }
        return b.toByteArray();
    }

    @Test
    void cifar10Batches() {
        Path root = dir.resolve("cifar-10-batches-bin");
        int[] counts = {3, 2, 4, 1, 2, 3};
        String[] files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                "data_batch_5.bin", "test_batch.bin"};
        ByteArrayOutputStream trainPix = new ByteArrayOutputStream();
        int[] trainLab = new int[0];
        byte[] testPix = null;
        int[] testLab = null;
        for (int f = 0; f < 6; f++) {
            byte[] px = TestFiles.randomBytes(rnd, counts[f] * 3072);
            int[] lab = TestFiles.randomLabels(rnd, counts[f], 10);
            int[][] l2 = Arrays.stream(lab).mapToObj(l -> new int[] {l}).toArray(int[][]::new);
            write(root.resolve(files[f]), cifarBatch(l2, px));
            if (f < 5) {
                trainPix.write(px, 0, px.length);
                int old = trainLab.length;
                trainLab = Arrays.copyOf(trainLab, old + lab.length);
                System.arraycopy(lab, 0, trainLab, old, lab.length);
            } else {
                testPix = px;
                testLab = lab;
            }
        }
        // Both the batches folder and its parent (the extracted tarball) are accepted.
        for (Path p : new Path[] {root, dir}) {
            Dataset d = Datasets.load("cifar10:" + p);
            assertEquals(3, d.channels());
            assertEquals(32, d.height());
            assertEquals(10, d.classes());
            assertArrayEquals(trainPix.toByteArray(), d.trainImages());
            assertArrayEquals(trainLab, d.trainLabels());
            assertArrayEquals(testPix, d.testImages());
            assertArrayEquals(testLab, d.testLabels());
        }

        // Truncated batch: not a whole number of records.
        byte[] batch = cifarBatch(new int[][] {{1}, {2}}, new byte[2 * 3072]);
        write(root.resolve("data_batch_3.bin"), Arrays.copyOf(batch, batch.length - 100));
        assertFails("cifar10:" + root, "data_batch_3.bin", "not a whole number of 3073-byte records", "1 records and 2973 bytes left over");
        // Label out of range.
        write(root.resolve("data_batch_3.bin"), cifarBatch(new int[][] {{1}, {10}}, new byte[2 * 3072]));
        assertFails("cifar10:" + root, "data_batch_3.bin", "label 10 in record 1 (byte offset 3073)", "outside 0..9");
        // Empty and missing files.
        write(root.resolve("data_batch_3.bin"), new byte[0]);
        assertFails("cifar10:" + root, "data_batch_3.bin", "empty file");
        write(root.resolve("data_batch_3.bin"), batch);
        try {
            Files.delete(root.resolve("test_batch.bin"));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        assertFails("cifar10:" + root, "test_batch.bin", "file not found");
    }

    @Test
    void cifar100FineAndCoarse() {
        Path root = dir.resolve("cifar-100-binary");
        int nTrain = 5, nTest = 3;
        byte[] trPx = TestFiles.randomBytes(rnd, nTrain * 3072), tePx = TestFiles.randomBytes(rnd, nTest * 3072);
        int[][] trL = new int[nTrain][], teL = new int[nTest][];
        for (int i = 0; i < nTrain; i++) trL[i] = new int[] {rnd.nextInt(20), rnd.nextInt(100)};
        for (int i = 0; i < nTest; i++) teL[i] = new int[] {rnd.nextInt(20), rnd.nextInt(100)};
        write(root.resolve("train.bin"), cifarBatch(trL, trPx));
        write(root.resolve("test.bin"), cifarBatch(teL, tePx));

        Dataset fine = Datasets.load("cifar100:" + dir);
        assertEquals(100, fine.classes());
        assertArrayEquals(trPx, fine.trainImages());
        assertArrayEquals(tePx, fine.testImages());
        assertArrayEquals(Arrays.stream(trL).mapToInt(l -> l[1]).toArray(), fine.trainLabels());
        assertArrayEquals(Arrays.stream(teL).mapToInt(l -> l[1]).toArray(), fine.testLabels());

        Dataset coarse = Datasets.load("cifar100:" + root + "?labels=coarse");
        assertEquals(20, coarse.classes());
        assertArrayEquals(Arrays.stream(trL).mapToInt(l -> l[0]).toArray(), coarse.trainLabels());

        trL[2] = new int[] {3, 100};
        write(root.resolve("train.bin"), cifarBatch(trL, trPx));
        assertFails("cifar100:" + root, "train.bin", "fine label 100 in record 2 (byte offset " + (2 * 3074 + 1) + ")", "outside 0..99");
        trL[2] = new int[] {20, 5};
        write(root.resolve("train.bin"), cifarBatch(trL, trPx));
        assertFails("cifar100:" + root, "train.bin", "coarse label 20 in record 2", "outside 0..19");
        // A CIFAR-10 batch given as CIFAR-100: the record size does not divide the file.
        write(root.resolve("train.bin"), cifarBatch(new int[][] {{1}, {2}, {3}}, new byte[3 * 3072]));
        assertFails("cifar100:" + root, "train.bin", "not a whole number of 3074-byte records");
    }

    /** STL-10 stores each channel column-major: byte c*9216 + x*96 + y is pixel (row y, column x). */
    private static byte[] stlColumnMajor(byte[] chw, int n) {
        byte[] out = new byte[chw.length];
        for (int k = 0; k < n; k++)
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 96; y++)
                    for (int x = 0; x < 96; x++)
                        out[k * 27648 + c * 9216 + x * 96 + y] = chw[k * 27648 + c * 9216 + y * 96 + x];
        return out;
    }

    @Test
    void stl10Binary() {
        Path root = dir.resolve("stl10_binary");
        int nTrain = 3, nTest = 2;
        byte[] trPx = TestFiles.randomBytes(rnd, nTrain * 27648), tePx = TestFiles.randomBytes(rnd, nTest * 27648);
        int[] trL = TestFiles.randomLabels(rnd, nTrain, 10), teL = TestFiles.randomLabels(rnd, nTest, 10);
        write(root.resolve("train_X.bin"), stlColumnMajor(trPx, nTrain));
        write(root.resolve("test_X.bin"), stlColumnMajor(tePx, nTest));
        write(root.resolve("train_y.bin"), plusOne(trL));
        write(root.resolve("test_y.bin"), plusOne(teL));

        Dataset d = Datasets.load("stl10:" + dir);
        assertEquals(96, d.height());
        assertEquals(3, d.channels());
        assertArrayEquals(trPx, d.trainImages());
        assertArrayEquals(tePx, d.testImages());
        assertArrayEquals(trL, d.trainLabels());
        assertArrayEquals(teL, d.testLabels());

        byte[] badLabels = plusOne(teL);
        badLabels[1] = 0;
        write(root.resolve("test_y.bin"), badLabels);
        assertFails("stl10:" + root, "test_y.bin", "label 0 at byte offset 1 outside 1..10");
        write(root.resolve("test_y.bin"), plusOne(Arrays.copyOf(teL, 1)));
        assertFails("stl10:" + root, "test_X.bin", "2 images but", "test_y.bin has 1 labels");
        write(root.resolve("test_y.bin"), plusOne(teL));
        write(root.resolve("train_X.bin"), Arrays.copyOf(stlColumnMajor(trPx, nTrain), nTrain * 27648 - 1));
        assertFails("stl10:" + root, "train_X.bin", "not a whole number of 27648-byte", "truncated");
    }

    private static byte[] plusOne(int[] labels) {
        byte[] b = new byte[labels.length];
        for (int i = 0; i < labels.length; i++) b[i] = (byte) (labels[i] + 1);
        return b;
    }
}
