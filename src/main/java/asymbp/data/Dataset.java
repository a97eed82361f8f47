package asymbp.data;

import java.util.Arrays;

/**
 * An image-classification dataset in memory: pixels as unsigned bytes (0..255, NCHW per image),
 * labels 0..classes−1. The backends upload it once and gather batches on the device.
 */
public record Dataset(String name, int channels, int height, int width, int classes,
                      byte[] trainImages, int[] trainLabels, byte[] testImages, int[] testLabels) {

    public Dataset {
        int f = channels * height * width;
        if (trainImages.length != (long) trainLabels.length * f)
            throw new IllegalArgumentException(name + ": " + trainLabels.length + " training labels but "
                    + trainImages.length / Math.max(1, f) + " training images");
        if (testImages.length != (long) testLabels.length * f)
            throw new IllegalArgumentException(name + ": " + testLabels.length + " test labels but "
                    + testImages.length / Math.max(1, f) + " test images");
        for (int[] ls : new int[][] {trainLabels, testLabels})
            for (int i = 0; i < ls.length; i++)
                if (ls[i] < 0 || ls[i] >= classes)
                    throw new IllegalArgumentException(name + ": label " + ls[i] + " at index " + i
                            + " outside 0.." + (classes - 1));
    }

    public int features() { return channels * height * width; }
    public int plane() { return height * width; }
    public int trainCount() { return trainLabels.length; }
    public int testCount() { return testLabels.length; }

    /** The first n training examples (the CLI's --limit); the test set is kept whole. */
    public Dataset limitTrain(int n) {
        if (n >= trainCount()) return this;
        return new Dataset(name, channels, height, width, classes,
                Arrays.copyOf(trainImages, n * features()), Arrays.copyOf(trainLabels, n), testImages, testLabels);
    }

    /**
     * Per-channel mean and inverse standard deviation of the training pixels scaled to [0,1]
     * (docs/spec.md §5), laid out as {@link asymbp.backend.Backend#gatherStandardize} reads them: C means, then C
     * inverse standard deviations.
     */
    public float[] meanInvStd() {
        int c = channels, plane = plane(), f = features();
        double[] sum = new double[c], sq = new double[c];
        for (int n = 0; n < trainCount(); n++)
            for (int i = 0; i < f; i++) {
                double v = (trainImages[n * f + i] & 0xff) / 255.0;
                sum[i / plane] += v;
                sq[i / plane] += v * v;
            }
        float[] out = new float[2 * c];
        double count = (double) trainCount() * plane;
        for (int k = 0; k < c; k++) {
            double mean = sum[k] / count;
            double var = Math.max(sq[k] / count - mean * mean, 1e-12);
            out[k] = (float) mean;
            out[c + k] = (float) (1.0 / Math.sqrt(var));
        }
        return out;
    }
}
