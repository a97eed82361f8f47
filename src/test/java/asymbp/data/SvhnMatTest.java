package asymbp.data;

import static asymbp.data.TestFiles.assertFails;
import static asymbp.data.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SVHN cropped digits in MATLAB 5 MAT-files, plain and zlib-compressed (as the official files are). */
class SvhnMatTest {
    @TempDir Path dir;

    private final Random rnd = TestFiles.random("SvhnMatTest");

    /** CHW row-major images (what the loader returns) → MATLAB's 32x32x3xN column-major X. */
    private static byte[] columnMajor(byte[] chw, int n) {
        byte[] x = new byte[chw.length];
        for (int k = 0; k < n; k++)
            for (int c = 0; c < 3; c++)
                for (int row = 0; row < 32; row++)
                    for (int col = 0; col < 32; col++)
                        x[row + 32 * col + 1024 * c + 3072 * k] = chw[k * 3072 + c * 1024 + row * 32 + col];
        return x;
    }

    /** Digit labels 0..9 → SVHN's 1..10 (10 for the digit 0). */
    private static double[] svhnLabels(int[] digits) {
        return Arrays.stream(digits).mapToDouble(d -> d == 0 ? 10 : d).toArray();
    }

    private static byte[] uint8(double[] v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

    private byte[] matFile(ByteOrder order, boolean compress, boolean yAsUint8Storage, byte[] chw, int[] digits) {
        int n = digits.length;
        MatWriter w = new MatWriter(order);
        w.text("__note", "written by SvhnMatTest", compress);
        int[] xDims = n == 1 ? new int[] {32, 32, 3} : new int[] {32, 32, 3, n};
        w.variable("X", MatWriter.MX_UINT8, xDims, MatWriter.MI_UINT8, columnMajor(chw, n), compress);
        double[] y = svhnLabels(digits);
        // MATLAB stores a double array of small integers as miUINT8 data (class still double).
        if (yAsUint8Storage) w.variable("y", MatWriter.MX_DOUBLE, new int[] {n, 1}, MatWriter.MI_UINT8, uint8(y), compress);
        else w.variable("y", MatWriter.MX_DOUBLE, new int[] {n, 1}, MatWriter.MI_DOUBLE, w.doubles(y), compress);
        return w.bytes();
    }

    private void roundTrip(ByteOrder order, boolean compress, boolean yAsUint8, int nTrain, int nTest) {
        byte[] trPx = TestFiles.randomBytes(rnd, nTrain * 3072), tePx = TestFiles.randomBytes(rnd, nTest * 3072);
        int[] trL = TestFiles.randomLabels(rnd, nTrain, 10), teL = TestFiles.randomLabels(rnd, nTest, 10);
        trL[0] = 0; // the 10 → 0 mapping is always exercised
        write(dir.resolve("train_32x32.mat"), matFile(order, compress, yAsUint8, trPx, trL));
        write(dir.resolve("test_32x32.mat"), matFile(order, compress, !yAsUint8, tePx, teL));
        Dataset d = Datasets.load("svhn:" + dir);
        assertEquals(3, d.channels());
        assertEquals(32, d.height());
        assertEquals(10, d.classes());
        assertArrayEquals(trPx, d.trainImages());
        assertArrayEquals(tePx, d.testImages());
        assertArrayEquals(trL, d.trainLabels());
        assertArrayEquals(teL, d.testLabels());
    }

    @Test
    void uncompressedLittleEndian() {
        roundTrip(ByteOrder.LITTLE_ENDIAN, false, false, 5, 3);
    }

    @Test
    void compressedLittleEndian() {
        roundTrip(ByteOrder.LITTLE_ENDIAN, true, true, 6, 4);
    }

    @Test
    void compressedBigEndianSingleImageTest() {
        // One test image: MATLAB drops the trailing singleton (X is 32x32x3) and y is a small element.
        roundTrip(ByteOrder.BIG_ENDIAN, true, false, 3, 1);
        roundTrip(ByteOrder.BIG_ENDIAN, false, true, 2, 1);
    }

    @Test
    void extraSplitAppendsToTraining() {
        byte[] a = TestFiles.randomBytes(rnd, 2 * 3072), b = TestFiles.randomBytes(rnd, 3 * 3072);
        int[] la = {1, 2}, lb = {3, 0, 9};
        write(dir.resolve("train_32x32.mat"), matFile(ByteOrder.LITTLE_ENDIAN, true, true, a, la));
        write(dir.resolve("extra_32x32.mat"), matFile(ByteOrder.LITTLE_ENDIAN, true, true, b, lb));
        write(dir.resolve("test_32x32.mat"), matFile(ByteOrder.LITTLE_ENDIAN, true, true, a, la));
        Dataset d = Datasets.load("svhn:" + dir + "?extra=1");
        assertEquals(5, d.trainCount());
        assertArrayEquals(new int[] {1, 2, 3, 0, 9}, d.trainLabels());
        assertArrayEquals(b, Arrays.copyOfRange(d.trainImages(), 2 * 3072, 5 * 3072));
    }

    @Test
    void badInputs() {
        byte[] px = TestFiles.randomBytes(rnd, 4 * 3072);
        int[] l = {1, 2, 3, 4};
        write(dir.resolve("test_32x32.mat"), matFile(ByteOrder.LITTLE_ENDIAN, true, true, px, l));

        // Label out of range.
        MatWriter w = new MatWriter(ByteOrder.LITTLE_ENDIAN);
        w.variable("X", MatWriter.MX_UINT8, new int[] {32, 32, 3, 4}, MatWriter.MI_UINT8, columnMajor(px, 4), true);
        w.variable("y", MatWriter.MX_DOUBLE, new int[] {4, 1}, MatWriter.MI_DOUBLE, w.doubles(1, 2, 11, 4), true);
        write(dir.resolve("train_32x32.mat"), w.bytes());
        assertFails("svhn:" + dir, "train_32x32.mat", "y(3) = 11.0, expected a label 1..10");

        // Missing y.
        w = new MatWriter(ByteOrder.LITTLE_ENDIAN);
        w.variable("X", MatWriter.MX_UINT8, new int[] {32, 32, 3, 4}, MatWriter.MI_UINT8, columnMajor(px, 4), true);
        write(dir.resolve("train_32x32.mat"), w.bytes());
        assertFails("svhn:" + dir, "train_32x32.mat", "no numeric variable 'y'", "variables found: X");

        // Count mismatch.
        w = new MatWriter(ByteOrder.LITTLE_ENDIAN);
        w.variable("X", MatWriter.MX_UINT8, new int[] {32, 32, 3, 4}, MatWriter.MI_UINT8, columnMajor(px, 4), false);
        w.variable("y", MatWriter.MX_DOUBLE, new int[] {3, 1}, MatWriter.MI_DOUBLE, w.doubles(1, 2, 3), false);
        write(dir.resolve("train_32x32.mat"), w.bytes());
        assertFails("svhn:" + dir, "train_32x32.mat", "X holds 4 images but y holds 3 labels");

        // Bad dimensions: 28x28 grey images.
        w = new MatWriter(ByteOrder.LITTLE_ENDIAN);
        w.variable("X", MatWriter.MX_UINT8, new int[] {28, 28, 1, 2}, MatWriter.MI_UINT8, new byte[2 * 784], false);
        write(dir.resolve("train_32x32.mat"), w.bytes());
        assertFails("svhn:" + dir, "train_32x32.mat", "X is uint8 28x28x1x2, expected uint8 32x32x3xN");

        // Data size disagreeing with the dimensions.
        w = new MatWriter(ByteOrder.LITTLE_ENDIAN);
        w.variable("X", MatWriter.MX_UINT8, new int[] {32, 32, 3, 4}, MatWriter.MI_UINT8, new byte[3 * 3072], false);
        write(dir.resolve("train_32x32.mat"), w.bytes());
        assertFails("svhn:" + dir, "train_32x32.mat", "stores 9216 bytes of miUINT8, expected 12288");

        // Truncated compressed file.
        byte[] good = matFile(ByteOrder.LITTLE_ENDIAN, true, true, px, l);
        write(dir.resolve("train_32x32.mat"), Arrays.copyOf(good, good.length - 500));
        assertFails("svhn:" + dir, "train_32x32.mat", "truncated");

        // Truncated uncompressed file.
        good = matFile(ByteOrder.LITTLE_ENDIAN, false, true, px, l);
        write(dir.resolve("train_32x32.mat"), Arrays.copyOf(good, 128 + 300));
        assertFails("svhn:" + dir, "train_32x32.mat", "truncated", "but the data ends at byte 428");

        // Corrupt zlib data.
        good = matFile(ByteOrder.LITTLE_ENDIAN, true, true, px, l);
        byte[] corrupt = good.clone();
        for (int i = 200; i < 260; i++) corrupt[i] ^= 0x5a;
        write(dir.resolve("train_32x32.mat"), corrupt);
        assertFails("svhn:" + dir, "train_32x32.mat", "compressed");

        // Not a MAT-file, and a v7.3 (HDF5) one.
        byte[] junk = new byte[300];
        write(dir.resolve("train_32x32.mat"), junk);
        assertFails("svhn:" + dir, "train_32x32.mat", "not a MATLAB 5 MAT-file", "offset 126");
        write(dir.resolve("train_32x32.mat"), new MatWriter(ByteOrder.LITTLE_ENDIAN, 0x0200).bytes());
        assertFails("svhn:" + dir, "train_32x32.mat", "MATLAB 7.3 (HDF5)");

        // Missing file.
        assertFails("svhn:" + dir.resolve("absent"), "absent", "directory not found");
    }
}
