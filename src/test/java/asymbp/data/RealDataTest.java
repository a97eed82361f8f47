package asymbp.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Fashion-MNIST and digits from the data directory (filled by datasets/fetch.sh), against the published
 * checks. Absent files skip the test with the reason printed, except under CI=true, where CI has run
 * fetch.sh first and absence is a failure.
 */
class RealDataTest {

    /** Skips (or, under CI=true, fails) when the named dataset's directory is not in any data directory. */
    static void requirePresent(String name, String file) {
        for (Path d : Datasets.dataDirs())
            if (Files.isRegularFile(d.resolve(name).resolve(file))) return;
        String reason = name + ": " + file + " not found in " + Datasets.dataDirs() + "; run datasets/fetch.sh " + name;
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail("CI=true but " + reason);
        System.out.println("SKIPPED: " + reason);
        Assumptions.abort(reason);
    }

    private static int[] counts(int[] labels, int classes) {
        int[] c = new int[classes];
        for (int l : labels) c[l]++;
        return c;
    }

    private static double meanPixel(byte[] px) {
        long s = 0;
        for (byte b : px) s += b & 0xff;
        return (double) s / px.length;
    }

    @Test
    void fashionMnist() {
        requirePresent("fashion-mnist", "train-images-idx3-ubyte.gz");
        Dataset d = Datasets.load("fashion-mnist"); // SHA-256 of each file is checked inside
        assertEquals(60000, d.trainCount());
        assertEquals(10000, d.testCount());
        assertEquals(28, d.height());
        int[] train = counts(d.trainLabels(), 10), test = counts(d.testLabels(), 10);
        int[] six = new int[10], one = new int[10];
        Arrays.fill(six, 6000);
        Arrays.fill(one, 1000);
        assertArrayEquals(six, train);
        assertArrayEquals(one, test);
        assertArrayEquals(new int[] {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}, Arrays.copyOf(d.trainLabels(), 10));
        System.out.printf("fashion-mnist: train %s, test %s, first labels %s, mean pixel %.3f%n", Arrays.toString(train),
                Arrays.toString(test), Arrays.toString(Arrays.copyOf(d.trainLabels(), 10)), meanPixel(d.trainImages()));
    }

    @Test
    void digits() {
        requirePresent("digits", "digits.csv.gz");
        Dataset d = Datasets.load("digits"); // SHA-256 of the CSV is checked inside
        assertEquals(1437, d.trainCount());
        assertEquals(360, d.testCount());
        assertEquals(8, d.height());
        assertEquals(1, d.channels());
        int[] all = new int[10], tr = counts(d.trainLabels(), 10), te = counts(d.testLabels(), 10);
        for (int k = 0; k < 10; k++) all[k] = tr[k] + te[k];
        // scikit-learn's documented class counts for load_digits().
        assertArrayEquals(new int[] {178, 182, 177, 183, 181, 182, 181, 179, 174, 180}, all);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, Arrays.copyOf(d.trainLabels(), 10));
        // First row of the file: 0,0,5,13,9,1,0,0 → round(v*255/16).
        byte[] row = Arrays.copyOf(d.trainImages(), 8);
        assertArrayEquals(new byte[] {0, 0, 80, (byte) 207, (byte) 143, 16, 0, 0}, row);
        int max = 0;
        for (byte b : d.trainImages()) max = Math.max(max, b & 0xff);
        assertEquals(255, max);
        System.out.printf("digits: train %d %s, test %d %s, mean pixel %.3f%n", d.trainCount(), Arrays.toString(tr),
                d.testCount(), Arrays.toString(te), meanPixel(d.trainImages()));
    }
}
