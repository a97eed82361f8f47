package asymbp.data;

import static asymbp.data.TestFiles.idxImages;
import static asymbp.data.TestFiles.idxLabels;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link Idx#load} on in-memory files, one check at a time: each file's SHA-256 (labels as well as
 * images), data past the end the header describes (labels as well as images), the required image size
 * (rows and columns separately), the class count taken from the labels, and the header's bounds.
 */
class IdxChecksTest {
    private final Random rnd = TestFiles.random("IdxChecksTest");
    private final int rows = 4, cols = 3, nTrain = 6, nTest = 5;
    private final byte[][] files = {
            idxImages(nTrain, rows, cols, TestFiles.randomBytes(rnd, nTrain * rows * cols)),
            idxLabels(TestFiles.randomLabels(rnd, nTrain, 7)),
            idxImages(nTest, rows, cols, TestFiles.randomBytes(rnd, nTest * rows * cols)),
            idxLabels(TestFiles.randomLabels(rnd, nTest, 7))};

    private static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    private String[] sums() {
        String[] s = new String[4];
        for (int i = 0; i < 4; i++) s[i] = sha256(files[i]);
        return s;
    }

    private Dataset load(String[] sha, int classes, int wantRows, int wantCols) {
        return Idx.load("test", i -> ByteSource.of(Idx.ROLES[i], new ByteArrayInputStream(files[i]), false, sha != null),
                sha, "the test's own sums", classes, wantRows, wantCols);
    }

    private DatasetException fails(String[] sha, int classes, int wantRows, int wantCols, String... fragments) {
        DatasetException e = assertThrows(DatasetException.class, () -> load(sha, classes, wantRows, wantCols));
        System.out.println("  expected failure: " + e.getMessage());
        for (String f : fragments) assertTrue(e.getMessage().contains(f), "'" + f + "' in: " + e.getMessage());
        return e;
    }

    @Test
    void everyFilesChecksumIsVerified() {
        Dataset d = load(sums(), 7, rows, cols);
        assertEquals(7, d.classes());
        assertArrayEquals(Arrays.copyOfRange(files[0], 16, files[0].length), d.trainImages());
        for (int i = 0; i < 4; i++) {
            String[] sha = sums();
            sha[i] = sha256(new byte[] {(byte) i});
            fails(sha, 7, 0, 0, Idx.ROLES[i] + ": SHA-256 is " + sha256(files[i]), "expected " + sha[i], "the test's own sums");
        }
        String[] upper = sums();
        for (int i = 0; i < 4; i++) upper[i] = upper[i].toUpperCase();
        assertEquals(nTest, load(upper, 7, 0, 0).testLabels().length, "hex case does not matter");
    }

    @Test
    void trailingBytesAfterLabelsOrImagesAreAnError() {
        for (int i = 0; i < 4; i++) {
            byte[] saved = files[i];
            files[i] = Arrays.copyOf(saved, saved.length + 2);
            fails(null, 0, 0, 0, Idx.ROLES[i] + ": 2 unexpected bytes after byte " + saved.length,
                    i % 2 == 0 ? "images of " + rows + "x" + cols : "labels");
            files[i] = saved;
        }
    }

    @Test
    void requiredImageSizeIsCheckedPerDimension() {
        assertEquals(rows, load(null, 0, rows, 0).height());
        assertEquals(cols, load(null, 0, 0, cols).width());
        fails(null, 0, rows + 1, cols, "train-images-idx3-ubyte: images are 4x3, expected 5x3 for test");
        fails(null, 0, rows, cols + 1, "images are 4x3, expected 4x4 for test");
        fails(null, 0, rows - 1, 0, "expected 3x0");
    }

    @Test
    void classCountFromTheLabels() {
        int max = 0;
        for (int f : new int[] {1, 3}) for (int i = 8; i < files[f].length; i++) max = Math.max(max, files[f][i]);
        assertEquals(max + 1, load(null, 0, 0, 0).classes());
        assertEquals(max + 1, load(null, -1, 0, 0).classes());
        // labels that are all 0 still mean one class
        for (int f : new int[] {1, 3}) Arrays.fill(files[f], 8, files[f].length, (byte) 0);
        assertEquals(1, load(null, 0, 0, 0).classes());
        // a label byte ≥ 128 is unsigned, checked against the classes with its byte offset
        files[3][8 + 2] = (byte) 200;
        fails(null, 10, 0, 0, "t10k-labels-idx1-ubyte: label 200 at index 2 (byte offset 10", "outside 0..9");
        assertEquals(201, load(null, 0, 0, 0).classes());
    }

    @Test
    void headerBounds() {
        files[1] = ByteBuffer.allocate(8).putInt(0x801).putInt(-1).array();
        fails(null, 0, 0, 0, "bad label count 4294967295");
        files[1] = idxLabels(new int[nTrain]);
        files[0] = idxImages(-1, rows, cols, new byte[0]);
        fails(null, 0, 0, 0, "bad dimensions 4294967295 x 4 x 3");
        files[0] = idxImages(0, 65537, 1, new byte[0]);
        fails(null, 0, 0, 0, "bad dimensions 0 x 65537 x 1");
        files[0] = idxImages(0, 1, 65537, new byte[0]);
        fails(null, 0, 0, 0, "bad dimensions 0 x 1 x 65537");
        files[0] = idxImages(0, 65536, 65536, new byte[0]);   // the largest allowed sizes, no images: fine until the counts differ
        fails(null, 0, 0, 0, "labels but");
        files[0] = idxImages(1, 0, 3, new byte[0]);
        fails(null, 0, 0, 0, "bad dimensions 1 x 0 x 3");
        files[0] = idxImages(1, 3, 0, new byte[0]);
        fails(null, 0, 0, 0, "bad dimensions 1 x 3 x 0");
        files[0] = idxImages(40000, 40000, 2, new byte[0]);
        fails(null, 0, 0, 0, "40000 images of 40000x2 = 3200000000 bytes, more than one Java array holds");
    }

    @Test
    void emptySplitsAreValid() {
        files[0] = idxImages(0, rows, cols, new byte[0]);
        files[1] = idxLabels(new int[0]);
        Dataset d = load(null, 0, rows, cols);
        assertEquals(0, d.trainLabels().length);
        assertEquals(0, d.trainImages().length);
    }

    @Test
    void magicHints() {
        files[0] = ByteBuffer.allocate(16).putInt(0x1f8b0800).array();
        fails(null, 0, 0, 0, "magic 0x1f8b0800", "gzip file that was not decompressed");
        files[0] = ByteBuffer.allocate(16).putInt(Integer.reverseBytes(0x803)).array();
        fails(null, 0, 0, 0, "written little-endian");
        files[0] = ByteBuffer.allocate(16).putInt(0x801).array();
        fails(null, 0, 0, 0, "expected 0x00000803", "this looks like a label file");
        files[0] = idxImages(nTrain, rows, cols, new byte[nTrain * rows * cols]);
        files[1] = ByteBuffer.allocate(16).putInt(Integer.reverseBytes(0x801)).array();
        fails(null, 0, 0, 0, "train-labels-idx1-ubyte: magic", "written little-endian");
        files[1] = idxImages(1, 1, 1, new byte[1]);
        fails(null, 0, 0, 0, "train-labels-idx1-ubyte: magic 0x00000803", "this looks like an image file");
        files[1] = ByteBuffer.allocate(16).putInt(0x12345678).array();
        DatasetException e = fails(null, 0, 0, 0, "magic 0x12345678, expected 0x00000801 (IDX labels: unsigned bytes, 1 dimension)");
        assertTrue(e.getMessage().endsWith("1 dimension)"), "no hint for an unknown magic: " + e.getMessage());
    }
}
