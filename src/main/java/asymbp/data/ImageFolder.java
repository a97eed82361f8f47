package asymbp.data;

import asymbp.rng.Philox;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * Class-per-folder image trees (Caltech-101/256, iCubWorld, FMD, MIT Indoor-67, LFW, PubFig, FaceScrub):
 * {@code ROOT/<class>/**.jpg|png|...}, classes numbered in sorted folder-name order. A root holding
 * {@code train/} and {@code test/} folders uses them as the split (test classes must exist in train);
 * otherwise each class is split on its own (stratified) by a seeded Philox shuffle, so the split is the
 * same on every machine and independent of directory listing order.
 *
 * <p>Images are decoded with javax.imageio, centre-cropped to a square ({@code fit=crop}, the default)
 * or not ({@code fit=stretch}), and resized to size x size by exact area averaging (written here, so
 * the result does not depend on the Java2D pipeline); {@code channels=1} converts to luma
 * (0.299 R + 0.587 G + 0.114 B).
 */
final class ImageFolder {
    private ImageFolder() {}

    /** Philox "layer" reserved for dataset splits, so split draws never coincide with the epoch shuffle's. */
    static final int SPLIT_LAYER = 0xFFFFFF;

    static final List<String> EXTENSIONS = List.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff");

    record Options(int size, int channels, double testFraction, long seed, boolean crop, int trainPerClass,
                   int testPerClass) {}

    static Options options(Spec spec) {
        int size = spec.integer("size", 32, 1, 1024);
        int channels = spec.integer("channels", 3, 1, 3);
        if (channels == 2) throw new DatasetException("dataset spec '" + spec.text + "': option channels=2; use 1 (grey) or 3 (RGB)");
        double test = spec.fraction("test", 0.2, 0.0, 1.0);
        long seed = spec.longValue("seed", 1);
        boolean crop = spec.string("fit", "crop", "crop", "stretch").equals("crop");
        int trainPer = spec.integer("train-per-class", 0, 1, Integer.MAX_VALUE);
        int testPer = spec.integer("test-per-class", 0, 1, Integer.MAX_VALUE);
        if (testPer > 0 && trainPer == 0)
            throw new DatasetException("dataset spec '" + spec.text + "': test-per-class needs train-per-class");
        if (trainPer > 0 && spec.has("test"))
            throw new DatasetException("dataset spec '" + spec.text + "': give either test=FRACTION or train-per-class=N, not both");
        return new Options(size, channels, test, seed, crop, trainPer, testPer);
    }

    static Dataset load(Path root, String name, Options o) {
        if (!Files.isDirectory(root))
            throw new DatasetException(root + ": " + (Files.exists(root) ? "not a directory" : "directory not found")
                    + " (expected one subfolder of images per class)");
        List<List<Path>> trainFiles = new ArrayList<>(), testFiles = new ArrayList<>();
        Path trainDir = root.resolve("train"), testDir = root.resolve("test");
        List<String> classes;
        if (Files.isDirectory(trainDir) && Files.isDirectory(testDir)) {
            classes = classFolders(trainDir);
            List<String> testClasses = classFolders(testDir);
            for (String c : testClasses)
                if (!classes.contains(c))
                    throw new DatasetException(testDir.resolve(c) + ": class '" + c + "' has no folder in " + trainDir);
            for (String c : classes) {
                trainFiles.add(images(trainDir.resolve(c), true));
                testFiles.add(testClasses.contains(c) ? images(testDir.resolve(c), false) : List.of());
            }
        } else {
            classes = classFolders(root);
            for (int k = 0; k < classes.size(); k++) {
                List<Path> all = images(root.resolve(classes.get(k)), true);
                split(all, k, o, trainFiles, testFiles, root.resolve(classes.get(k)));
            }
        }
        int f = o.channels() * o.size() * o.size();
        int[][] labels = new int[2][];
        byte[][] pixels = new byte[2][];
        List<List<List<Path>>> parts = List.of(trainFiles, testFiles);
        for (int s = 0; s < 2; s++) {
            List<Path> files = new ArrayList<>();
            List<Integer> ls = new ArrayList<>();
            for (int k = 0; k < classes.size(); k++)
                for (Path p : parts.get(s).get(k)) {
                    files.add(p);
                    ls.add(k);
                }
            if ((long) files.size() * f > Integer.MAX_VALUE - 16)
                throw new DatasetException(root + ": " + files.size() + " images of " + f + " bytes, more than one Java array holds; use a smaller size=");
            labels[s] = ls.stream().mapToInt(Integer::intValue).toArray();
            pixels[s] = decodeAll(files, o, f);
        }
        return new Dataset(name, o.channels(), o.size(), o.size(), classes.size(), pixels[0], labels[0], pixels[1], labels[1]);
    }

    /** Sorted class folder names (hidden folders ignored); at least one. */
    static List<String> classFolders(Path dir) {
        List<String> names;
        long looseImages;
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> entries = s.collect(Collectors.toList());
            names = entries.stream().filter(Files::isDirectory).map(p -> p.getFileName().toString())
                    .filter(n -> !n.startsWith(".")).sorted().collect(Collectors.toList());
            looseImages = entries.stream().filter(ImageFolder::isImage).count();
        } catch (IOException e) {
            throw new DatasetException(dir + ": cannot list (" + e.getMessage() + ")", e);
        }
        if (names.isEmpty())
            throw new DatasetException(dir + ": no class folders (expected one subfolder of images per class"
                    + (looseImages > 0 ? "; found " + looseImages + " images directly in it" : "") + ")");
        return names;
    }

    static boolean isImage(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && !n.startsWith(".") && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT))
                && Files.isRegularFile(p);
    }

    /** Image files anywhere under a class folder, sorted by relative path (a fixed, platform-independent order). */
    static List<Path> images(Path classDir, boolean required) {
        List<Path> files;
        try (Stream<Path> s = Files.walk(classDir)) {
            files = s.filter(ImageFolder::isImage)
                    .sorted(Comparator.comparing(p -> classDir.relativize(p).toString().replace('\\', '/')))
                    .collect(Collectors.toList());
        } catch (IOException e) {
            throw new DatasetException(classDir + ": cannot list (" + e.getMessage() + ")", e);
        }
        if (files.isEmpty() && required)
            throw new DatasetException(classDir + ": no images (looked for ." + String.join(", .", EXTENSIONS) + ")");
        return files;
    }

    /** Per-class split: order the files by a Philox key drawn per (seed, class, file index). */
    private static void split(List<Path> all, int k, Options o, List<List<Path>> train, List<List<Path>> test, Path dir) {
        int n = all.size();
        Integer[] order = new Integer[n];
        long[] key = new long[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
            key[i] = Philox.word(o.seed(), Philox.PURPOSE_SHUFFLE, SPLIT_LAYER, k, i) & 0xffffffffL;
        }
        Arrays.sort(order, Comparator.<Integer>comparingLong(i -> key[i]).thenComparingInt(i -> i));
        int nTrain, nTest;
        if (o.trainPerClass() > 0) {
            if (n < o.trainPerClass() + 1)
                throw new DatasetException(dir + ": " + n + " images, need more than train-per-class=" + o.trainPerClass());
            nTrain = o.trainPerClass();
            nTest = o.testPerClass() > 0 ? Math.min(o.testPerClass(), n - nTrain) : n - nTrain;
        } else {
            nTest = (int) Math.round(o.testFraction() * n);
            nTrain = n - nTest;
        }
        boolean[] isTest = new boolean[n], isTrain = new boolean[n];
        for (int j = 0; j < nTrain; j++) isTrain[order[j]] = true;
        for (int j = nTrain; j < nTrain + nTest; j++) isTest[order[j]] = true;
        List<Path> tr = new ArrayList<>(), te = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (isTrain[i]) tr.add(all.get(i));
            if (isTest[i]) te.add(all.get(i));
        }
        train.add(tr);
        test.add(te);
    }

    /** Decodes files in parallel into one array; the first failing file (in order) is reported. */
    private static byte[] decodeAll(List<Path> files, Options o, int f) {
        byte[] out = new byte[files.size() * f];
        AtomicReference<DatasetException> firstError = new AtomicReference<>();
        int[] errorIndex = {Integer.MAX_VALUE};
        IntStream.range(0, files.size()).parallel().forEach(i -> {
            try {
                decode(files.get(i), o, out, i * f);
            } catch (DatasetException e) {
                synchronized (errorIndex) {
                    if (i < errorIndex[0]) {
                        errorIndex[0] = i;
                        firstError.set(e);
                    }
                }
            }
        });
        if (firstError.get() != null) throw firstError.get();
        return out;
    }

    static void decode(Path file, Options o, byte[] out, int offset) {
        BufferedImage img;
        try {
            img = ImageIO.read(file.toFile());
        } catch (IOException | RuntimeException e) {
            throw new DatasetException(file + ": cannot decode image (" + e.getMessage() + ")", e);
        }
        if (img == null)
            throw new DatasetException(file + ": not a readable image (no javax.imageio decoder recognises its content)");
        int w = img.getWidth(), h = img.getHeight();
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        int x0 = 0, y0 = 0, cw = w, ch = h;
        if (o.crop()) {
            int side = Math.min(w, h);
            x0 = (w - side) / 2;
            y0 = (h - side) / 2;
            cw = ch = side;
        }
        resize(argb, w, x0, y0, cw, ch, o.size(), o.channels(), out, offset);
    }

    /**
     * Area-average resize of the rectangle (x0, y0, cw, ch) of an ARGB image to size x size, written CHW.
     * Each output pixel is the mean of the source area it covers, partial pixels weighted by coverage.
     */
    static void resize(int[] argb, int stride, int x0, int y0, int cw, int ch, int size, int channels, byte[] out, int offset) {
        double[][] wx = weights(cw, size), wy = weights(ch, size);
        int[][] ix = starts(cw, size), iy = starts(ch, size);
        // Horizontal pass: rows of the crop → size columns, 3 channels.
        double[] tmp = new double[3 * ch * size];
        for (int y = 0; y < ch; y++) {
            int row = (y0 + y) * stride + x0;
            for (int ox = 0; ox < size; ox++) {
                double r = 0, g = 0, b = 0;
                double[] wts = wx[ox];
                int start = ix[ox][0];
                for (int t = 0; t < wts.length; t++) {
                    int p = argb[row + start + t];
                    r += wts[t] * ((p >>> 16) & 0xff);
                    g += wts[t] * ((p >>> 8) & 0xff);
                    b += wts[t] * (p & 0xff);
                }
                int at = (y * size + ox) * 3;
                tmp[at] = r;
                tmp[at + 1] = g;
                tmp[at + 2] = b;
            }
        }
        int plane = size * size;
        for (int oy = 0; oy < size; oy++) {
            double[] wts = wy[oy];
            int start = iy[oy][0];
            for (int ox = 0; ox < size; ox++) {
                double r = 0, g = 0, b = 0;
                for (int t = 0; t < wts.length; t++) {
                    int at = ((start + t) * size + ox) * 3;
                    r += wts[t] * tmp[at];
                    g += wts[t] * tmp[at + 1];
                    b += wts[t] * tmp[at + 2];
                }
                int o = oy * size + ox;
                if (channels == 1) {
                    out[offset + o] = clamp(0.299 * r + 0.587 * g + 0.114 * b);
                } else {
                    out[offset + o] = clamp(r);
                    out[offset + plane + o] = clamp(g);
                    out[offset + 2 * plane + o] = clamp(b);
                }
            }
        }
    }

    private static byte clamp(double v) {
        long r = Math.round(v);
        return (byte) (r < 0 ? 0 : r > 255 ? 255 : r);
    }

    /** First source index covered by each output index. */
    private static int[][] starts(int in, int out) {
        int[][] s = new int[out][1];
        for (int o = 0; o < out; o++) s[o][0] = (int) Math.floor((double) o * in / out);
        return s;
    }

    /** Coverage weights (summing to 1) of the source pixels under each output pixel. */
    private static double[][] weights(int in, int out) {
        double[][] w = new double[out][];
        double scale = (double) in / out;
        for (int o = 0; o < out; o++) {
            double lo = o * scale, hi = (o + 1) * scale;
            int first = (int) Math.floor(lo), last = Math.min(in - 1, (int) Math.ceil(hi) - 1);
            w[o] = new double[last - first + 1];
            for (int i = first; i <= last; i++)
                w[o][i - first] = (Math.min(hi, i + 1) - Math.max(lo, i)) / scale;
        }
        return w;
    }
}
