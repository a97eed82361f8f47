package asymbp.data;

import static asymbp.data.TestFiles.assertFails;
import static asymbp.data.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Class-per-folder trees of PNG and JPEG files of different sizes. */
class ImageFolderTest {
    @TempDir Path dir;

    private final Random rnd = TestFiles.random("ImageFolderTest");

    private static void save(BufferedImage img, String format, Path file) {
        try {
            Files.createDirectories(file.getParent());
            if (!ImageIO.write(img, format, file.toFile())) throw new IllegalStateException("no writer for " + format);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static BufferedImage solid(int w, int h, int rgb) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, rgb);
        return img;
    }

    /** Three classes of solid-colour images, PNG and JPEG, sizes varying; class k has 5 + k images. */
    private static final int[] COLOURS = {0xff2010, 0x10c040, 0x3050e0};

    private void solidTree(Path root) {
        for (int k = 0; k < 3; k++)
            for (int i = 0; i < 5 + k; i++) {
                int w = 20 + 7 * i, h = 15 + 11 * ((i + k) % 3);
                boolean png = (i + k) % 2 == 0;
                save(solid(w, h, COLOURS[k]), png ? "png" : "jpg",
                        root.resolve("class" + k).resolve("img" + i + (png ? ".png" : ".JPG")));
            }
    }

    @Test
    void solidColoursPngAndJpegOfDifferentSizes() {
        solidTree(dir);
        write(dir.resolve("class1").resolve("notes.txt"), "ignored".getBytes()); // non-images are skipped
        Dataset d = Datasets.load("folder:" + dir + "?size=8&test=0.4&seed=3");
        assertEquals(3, d.classes());
        assertEquals(3, d.channels());
        assertEquals(8, d.height());
        // round(0.4 * n) test images per class: 2, 2, 3.
        assertEquals(7, d.testCount());
        assertEquals(18 - 7, d.trainCount());
        for (int s = 0; s < 2; s++) {
            byte[] px = s == 0 ? d.trainImages() : d.testImages();
            int[] ls = s == 0 ? d.trainLabels() : d.testLabels();
            for (int n = 0; n < ls.length; n++) {
                int rgb = COLOURS[ls[n]];
                for (int c = 0; c < 3; c++) {
                    int want = (rgb >> (16 - 8 * c)) & 0xff;
                    for (int i = 0; i < 64; i++) {
                        int got = px[n * 192 + c * 64 + i] & 0xff;
                        // JPEG is lossy even for flat colour; PNG would be exact.
                        assertTrue(Math.abs(got - want) <= 4, "image " + n + " channel " + c + ": " + got + " vs " + want);
                    }
                }
            }
        }
    }

    @Test
    void splitIsDeterministicStratifiedAndSeeded() {
        Path root = dir.resolve("tree");
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 10; i++) {
                BufferedImage img = solid(4, 4, 0);
                img.setRGB(0, 0, (k << 16) | i); // each image distinguishable after a size=4 load
                save(img, "png", root.resolve("c" + k).resolve(String.format("%02d.png", i)));
            }
        Dataset a = Datasets.load("folder:" + root + "?size=4&seed=7");
        Dataset b = Datasets.load("folder:" + root + "?size=4&seed=7");
        assertArrayEquals(a.trainImages(), b.trainImages());
        assertArrayEquals(a.testImages(), b.testImages());
        assertArrayEquals(new int[] {0, 0, 1, 1}, a.testLabels()); // default test=0.2: 2 per class
        assertEquals(16, a.trainCount());
        boolean differs = false;
        for (int seed = 8; seed < 12 && !differs; seed++)
            differs = !Arrays.equals(a.testImages(), Datasets.load("folder:" + root + "?size=4&seed=" + seed).testImages());
        assertTrue(differs, "the split should depend on the seed");
        // Train and test are disjoint and together hold every image.
        Set<String> seen = new HashSet<>();
        for (byte[] px : new byte[][] {a.trainImages(), a.testImages()})
            for (int n = 0; n < px.length / 48; n++)
                assertTrue(seen.add(px[n * 48] + "," + px[n * 48 + 16] + "," + px[n * 48 + 32]), "duplicate image");
        assertEquals(20, seen.size());

        Dataset perClass = Datasets.load("folder:" + root + "?size=4&train-per-class=3&test-per-class=5");
        assertEquals(6, perClass.trainCount());
        assertEquals(10, perClass.testCount());
    }

    @Test
    void areaAverageResizeAndGreyscale() {
        // 3x3 → 2x2: each output pixel covers 1.5x1.5 source pixels.
        int[][] v = new int[3][3];
        BufferedImage img = new BufferedImage(3, 3, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 3; y++)
            for (int x = 0; x < 3; x++) {
                v[y][x] = rnd.nextInt(256);
                img.setRGB(x, y, (v[y][x] << 16) | ((255 - v[y][x]) << 8) | 77);
            }
        save(img, "png", dir.resolve("a").resolve("x.png"));
        save(solid(5, 5, 0x808080), "png", dir.resolve("b").resolve("y.png"));
        Dataset d = Datasets.load("folder:" + dir + "?size=2&test=0");
        double[] wt = {1, 0.5};
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 2; ox++) {
                double r = 0;
                for (int j = 0; j < 2; j++)
                    for (int i = 0; i < 2; i++) r += wt[j] * wt[i] * v[oy == 0 ? j : 2 - j][ox == 0 ? i : 2 - i];
                r /= 2.25;
                int o = oy * 2 + ox;
                assertEquals(Math.round(r), d.trainImages()[o] & 0xff, "red at " + o);
                assertEquals(Math.round(255 - r), d.trainImages()[4 + o] & 0xff, "green at " + o);
                assertEquals(77, d.trainImages()[8 + o] & 0xff, "blue at " + o);
            }

        // Centre crop: a 6x2 image whose middle 2x2 is white and sides black.
        Path crop = dir.resolve("crop");
        BufferedImage wide = solid(6, 2, 0);
        for (int y = 0; y < 2; y++) for (int x = 2; x < 4; x++) wide.setRGB(x, y, 0xffffff);
        save(wide, "png", crop.resolve("k").resolve("w.png"));
        save(wide, "png", crop.resolve("k2").resolve("w.png"));
        Dataset c = Datasets.load("folder:" + crop + "?size=1&test=0&channels=1");
        assertEquals(1, c.channels());
        assertEquals(255, c.trainImages()[0] & 0xff);
        Dataset s = Datasets.load("folder:" + crop + "?size=1&test=0&channels=1&fit=stretch");
        assertEquals(85, s.trainImages()[0] & 0xff); // a third of the stretched image is white
    }

    @Test
    void trainTestSubfoldersAndNestedImages() {
        save(solid(9, 9, 0xffffff), "png", dir.resolve("train/b/nested/deeper/1.png"));
        save(solid(9, 9, 0xffffff), "jpg", dir.resolve("train/b/2.jpeg"));
        save(solid(12, 7, 0), "png", dir.resolve("train/a/1.png"));
        save(solid(3, 3, 0), "png", dir.resolve("test/a/9.png"));
        Dataset d = Datasets.load("folder:" + dir + "?size=3");
        assertEquals(2, d.classes());
        assertArrayEquals(new int[] {0, 1, 1}, d.trainLabels());
        assertArrayEquals(new int[] {0}, d.testLabels());

        save(solid(3, 3, 0), "png", dir.resolve("test/zzz/9.png"));
        assertFails("folder:" + dir, "zzz", "class 'zzz' has no folder in");
    }

    @Test
    void pnmImagesAndMinPerClass() {
        // P6 (RGB) with a comment, P5 (grey): the formats javax.imageio cannot read.
        int w = 3, h = 2;
        byte[] rgb = TestFiles.randomBytes(rnd, w * h * 3);
        byte[] head = ("P6\n# made by ImageFolderTest\n" + w + " " + h + "\n255\n").getBytes();
        byte[] ppm = Arrays.copyOf(head, head.length + rgb.length);
        System.arraycopy(rgb, 0, ppm, head.length, rgb.length);
        write(dir.resolve("robot/cup/a.ppm"), ppm);
        byte[] grey = TestFiles.randomBytes(rnd, w * h);
        byte[] gh = ("P5 " + w + " " + h + " 255\n").getBytes();
        byte[] pgm = Arrays.copyOf(gh, gh.length + grey.length);
        System.arraycopy(grey, 0, pgm, gh.length, grey.length);
        write(dir.resolve("robot/cup/b.pgm"), pgm);
        write(dir.resolve("robot/mug/c.pgm"), pgm);
        Dataset d = Datasets.load("folder:" + dir.resolve("robot") + "?size=3&fit=stretch&test=0");
        assertEquals(3, d.trainCount());
        // 3x2 → 3x3: column x keeps its samples; output row 0 is source row 0, row 2 source row 1,
        // row 1 the mean of both.
        for (int c = 0; c < 3; c++)
            for (int x = 0; x < 3; x++) {
                int top = rgb[x * 3 + c] & 0xff, bottom = rgb[(w + x) * 3 + c] & 0xff;
                assertEquals(top, d.trainImages()[c * 9 + x] & 0xff);
                assertEquals(bottom, d.trainImages()[c * 9 + 6 + x] & 0xff);
                assertEquals(Math.round((top + bottom) / 2.0), d.trainImages()[c * 9 + 3 + x] & 0xff);
                assertEquals(grey[x] & 0xff, d.trainImages()[27 + c * 9 + x] & 0xff);
            }
        Dataset big = Datasets.load("folder:" + dir.resolve("robot") + "?size=3&test=0&min-per-class=2");
        assertEquals(1, big.classes());
        assertEquals(2, big.trainCount());
        assertFails("folder:" + dir.resolve("robot") + "?min-per-class=5", "robot", "no class folder has min-per-class=5");
        write(dir.resolve("robot/mug/c.pgm"), Arrays.copyOf(pgm, pgm.length - 2));
        assertFails("folder:" + dir.resolve("robot") + "?test=0", "c.pgm", "truncated", "3x2x1 samples");
    }

    @Test
    void badTrees() throws IOException {
        assertFails("folder:" + dir.resolve("missing"), "missing", "directory not found");
        assertFails("folder:" + dir, dir.toString(), "no class folders");
        save(solid(3, 3, 0), "png", dir.resolve("loose.png"));
        assertFails("folder:" + dir, dir.toString(), "no class folders", "found 1 images directly in it");
        Files.createDirectories(dir.resolve("empty"));
        save(solid(3, 3, 0), "png", dir.resolve("full/1.png"));
        assertFails("folder:" + dir, "empty", "no images");
        Files.delete(dir.resolve("empty"));
        write(dir.resolve("full/2.png"), "this is not a PNG".getBytes());
        assertFails("folder:" + dir + "?test=0", "2.png", "not a readable image");
        write(dir.resolve("full/2.png"), Arrays.copyOf(pngBytes(), 60));
        assertFails("folder:" + dir + "?test=0", "2.png", "image");
        assertFails("folder:" + dir + "?sise=3", "folder:", "unknown option 'sise'");
        assertFails("folder:" + dir + "?channels=2", "folder:", "channels=2");
        assertFails("folder:" + dir + "?test=1.5", "folder:", "test=1.5");
    }

    private byte[] pngBytes() {
        try {
            Path p = dir.resolve("tmp.bin");
            ImageIO.write(solid(16, 16, 0x123456), "png", p.toFile());
            byte[] b = Files.readAllBytes(p);
            Files.delete(p);
            assertNotEquals(0, b.length);
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
