package asymbp.train;

import asymbp.data.Dataset;

import java.util.Random;

/** Small learnable datasets for tests: each class brightens its own block of pixels, plus noise. */
public final class Synthetic {
    private Synthetic() {}

    public static Dataset dataset(int channels, int h, int w, int classes, int train, int test, long seed) {
        Random rnd = new Random(seed);
        int f = channels * h * w;
        byte[] ti = new byte[train * f], si = new byte[test * f];
        int[] tl = new int[train], sl = new int[test];
        fill(rnd, ti, tl, f, classes);
        fill(rnd, si, sl, f, classes);
        return new Dataset("synthetic", channels, h, w, classes, ti, tl, si, sl);
    }

    private static void fill(Random rnd, byte[] img, int[] lab, int f, int classes) {
        for (int n = 0; n < lab.length; n++) {
            int c = rnd.nextInt(classes);
            lab[n] = c;
            for (int i = 0; i < f; i++) {
                int v = rnd.nextInt(120);
                if ((i * classes) / f == c) v += 120;
                img[n * f + i] = (byte) v;
            }
        }
    }
}
