package asymbp.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The embedded MNIST against the published checks (SHA-256 is verified inside the loader). */
class MnistEmbeddedTest {

    @Test
    void embeddedMnistMatchesPublishedChecks() {
        long t0 = System.nanoTime();
        Dataset d = Datasets.load("mnist");
        System.out.printf("mnist: loaded in %.2f s%n", (System.nanoTime() - t0) / 1e9);
        assertEquals(60000, d.trainCount());
        assertEquals(10000, d.testCount());
        assertEquals(1, d.channels());
        assertEquals(28, d.height());
        assertEquals(28, d.width());
        assertEquals(10, d.classes());

        int[] counts = new int[10];
        for (int l : d.trainLabels()) counts[l]++;
        assertArrayEquals(new int[] {5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949}, counts);
        int[] testCounts = new int[10];
        for (int l : d.testLabels()) testCounts[l]++;
        // Published test-set class counts of MNIST.
        assertArrayEquals(new int[] {980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}, testCounts);

        int[] first = new int[10];
        System.arraycopy(d.trainLabels(), 0, first, 0, 10);
        assertArrayEquals(new int[] {5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, first);

        long sum = 0;
        for (byte b : d.trainImages()) sum += b & 0xff;
        double mean = (double) sum / d.trainImages().length;
        System.out.printf("mnist: train label counts %s, mean pixel %.3f%n", java.util.Arrays.toString(counts), mean);
        assertEquals(33.318, mean, 0.0005);

        float[] ms = d.meanInvStd();
        assertEquals(0.1307, ms[0], 1e-4);
        assertEquals(1 / 0.3081, ms[1], 1e-2);

        // A second load (served from the verified cache) is equal and independent of the first.
        d.trainImages()[0] = 42;
        Dataset again = Datasets.load("mnist");
        assertEquals(0, again.trainImages()[0]);
        assertArrayEquals(d.testLabels(), again.testLabels());
    }
}
