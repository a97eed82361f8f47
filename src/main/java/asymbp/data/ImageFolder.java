package asymbp.data;

import asymbp.rng.Philox;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.FileVisitOption;
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

    static final List<String> EXTENSIONS = List.of("jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "ppm", "pgm");

    record Options(int size, int channels, double testFraction, long seed, boolean crop, int trainPerClass,
                   int testPerClass, int minPerClass) {}

    static Options options(Spec spec) {
        int size = spec.integer("size", 32, 1, 1024);
        int channels = spec.integer("channels", 3, 1, 3);
        if (channels == 2) throw new DatasetException("dataset spec '" + spec.text + "': option channels=2; use 1 (grey) or 3 (RGB)");
        double test = spec.fraction("test", 0.2, 0.0, 1.0);
        long seed = spec.longValue("seed", 1);
        boolean crop = spec.string("fit", "crop", "crop", "stretch").equals("crop");
        int trainPer = spec.integer("train-per-class", 0, 1, Integer.MAX_VALUE);
        int testPer = spec.integer("test-per-class", 0, 1, Integer.MAX_VALUE);
        int minPer = spec.integer("min-per-class", 0, 1, Integer.MAX_VALUE);
        if (testPer > 0 && trainPer == 0)
            throw new DatasetException("dataset spec '" + spec.text + "': test-per-class needs train-per-class");
        if (trainPer > 0 && spec.has("test"))
            throw new DatasetException("dataset spec '" + spec.text + "': give either test=FRACTION or train-per-class=N, not both");
        return new Options(size, channels, test, seed, crop, trainPer, testPer, minPer);
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
            List<String> folders = classFolders(root);
            classes = new ArrayList<>();
            for (String c : folders) {
                List<Path> all = images(root.resolve(c), true);
                // Face sets (LFW, PubFig, FaceScrub) have many people with a handful of images.
                if (all.size() < o.minPerClass()) continue;
                split(all, classes.size(), o, trainFiles, testFiles, root.resolve(c));
                classes.add(c);
            }
            if (classes.isEmpty())
                throw new DatasetException(root + ": no class folder has min-per-class=" + o.minPerClass() + " images");
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
        // Links are followed so a split can be arranged with symlinks (fetch-paper-datasets.sh does not, users may).
        try (Stream<Path> s = Files.walk(classDir, FileVisitOption.FOLLOW_LINKS)) {
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
        ByteSource.requireMemory((long) files.size() * f, files.size() + " images of " + f + " bytes");
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

    /**
     * Decodes an image after reading its declared size from the header: a few bytes can declare a
     * 100000×100000 picture, and the decoder would allocate it before noticing the data is missing.
     */
    static BufferedImage readChecked(Path file) throws IOException {
        try (javax.imageio.stream.ImageInputStream in = ImageIO.createImageInputStream(file.toFile())) {
            if (in == null) return null;
            java.util.Iterator<javax.imageio.ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) return null;
            javax.imageio.ImageReader r = readers.next();
            try {
                r.setInput(in, true, true);
                long w = r.getWidth(0), h = r.getHeight(0);
                if (w <= 0 || h <= 0) throw new DatasetException(file + ": image size " + w + "x" + h + " in its header");
                // The decoded image and its ARGB copy, on every decoding thread at once.
                long threads = java.util.concurrent.ForkJoinPool.getCommonPoolParallelism() + 1L;
                ByteSource.requireMemory(8 * w * h * threads, file + ": a " + w + "x" + h + " image (header)");
                if (w * h > Integer.MAX_VALUE - 16)
                    throw new DatasetException(file + ": a " + w + "x" + h + " image, more pixels than one Java array holds");
                return r.read(0);
            } finally {
                r.dispose();
            }
        }
    }

    static void decode(Path file, Options o, byte[] out, int offset) {
        BufferedImage img;
        try {
            String n = file.getFileName().toString().toLowerCase(Locale.ROOT);
            img = n.endsWith(".ppm") || n.endsWith(".pgm") ? Pnm.read(file) : readChecked(file);
        } catch (DatasetException e) {
            throw e;
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
     * Coverage is counted in integer units (a source pixel is {@code size} units wide, an output pixel
     * {@code cw} units), so the sums are exact and only the final division rounds (half up).
     */
    static void resize(int[] argb, int stride, int x0, int y0, int cw, int ch, int size, int channels, byte[] out, int offset) {
        int[][] wx = coverage(cw, size), wy = coverage(ch, size);
        // Horizontal pass: each crop row → size columns of 3 exact integer sums (scale cw).
        long[] tmp = new long[3 * ch * size];
        for (int y = 0; y < ch; y++) {
            int row = (y0 + y) * stride + x0;
            for (int ox = 0; ox < size; ox++) {
                long r = 0, g = 0, b = 0;
                int[] w = wx[ox];
                for (int t = 1; t < w.length; t++) {
                    int p = argb[row + w[0] + t - 1];
                    r += (long) w[t] * ((p >>> 16) & 0xff);
                    g += (long) w[t] * ((p >>> 8) & 0xff);
                    b += (long) w[t] * (p & 0xff);
                }
                int at = (y * size + ox) * 3;
                tmp[at] = r;
                tmp[at + 1] = g;
                tmp[at + 2] = b;
            }
        }
        long denom = (long) cw * ch;
        int plane = size * size;
        for (int oy = 0; oy < size; oy++) {
            int[] w = wy[oy];
            for (int ox = 0; ox < size; ox++) {
                long r = 0, g = 0, b = 0;
                for (int t = 1; t < w.length; t++) {
                    int at = ((w[0] + t - 1) * size + ox) * 3;
                    r += w[t] * tmp[at];
                    g += w[t] * tmp[at + 1];
                    b += w[t] * tmp[at + 2];
                }
                int o = oy * size + ox;
                if (channels == 1) {
                    out[offset + o] = divRound(299 * r + 587 * g + 114 * b, 1000 * denom);
                } else {
                    out[offset + o] = divRound(r, denom);
                    out[offset + plane + o] = divRound(g, denom);
                    out[offset + 2 * plane + o] = divRound(b, denom);
                }
            }
        }
    }

    private static byte divRound(long num, long den) {
        long v = (2 * num + den) / (2 * den);
        return (byte) Math.min(255, v);
    }

    /**
     * For each output index: {first source index, coverage of it, of the next, ...}, coverage in units
     * where a source pixel is {@code out} wide and an output pixel {@code in} wide (so they sum to in).
     */
    private static int[][] coverage(int in, int out) {
        int[][] w = new int[out][];
        for (int o = 0; o < out; o++) {
            long lo = (long) o * in, hi = (long) (o + 1) * in;
            int first = (int) (lo / out), last = (int) ((hi - 1) / out);
            w[o] = new int[last - first + 2];
            w[o][0] = first;
            for (int i = first; i <= last; i++)
                w[o][i - first + 1] = (int) (Math.min(hi, (long) (i + 1) * out) - Math.max(lo, (long) i * out));
        }
        return w;
    }
}
