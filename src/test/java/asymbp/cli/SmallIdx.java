package asymbp.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** A small learnable IDX dataset (8×8, 4 classes; each class brightens its own rows) for fast CLI runs. */
final class SmallIdx {
    private SmallIdx() {}

    /** Writes the four IDX files into {@code dir}; returns the --dataset spec. */
    static String write(Path dir, int train, int test, long seed) throws IOException {
        return write(dir, train, test, seed, 8);
    }

    /** The same with side×side images (28 for LeNet). */
    static String write(Path dir, int train, int test, long seed, int side) throws IOException {
        Files.createDirectories(dir);
        int f = side * side;
        Random r = new Random(seed);
        String[] roles = {"train", "t10k"};
        int[] counts = {train, test};
        for (int s = 0; s < 2; s++) {
            int n = counts[s];
            ByteBuffer img = ByteBuffer.allocate(16 + f * n).putInt(0x803).putInt(n).putInt(side).putInt(side);
            ByteBuffer lab = ByteBuffer.allocate(8 + n).putInt(0x801).putInt(n);
            for (int i = 0; i < n; i++) {
                int c = r.nextInt(4);
                lab.put((byte) c);
                for (int p = 0; p < f; p++) img.put((byte) (r.nextInt(100) + (4 * p / f == c ? 140 : 0)));
            }
            Files.write(dir.resolve(roles[s] + "-images-idx3-ubyte"), img.array());
            Files.write(dir.resolve(roles[s] + "-labels-idx1-ubyte"), lab.array());
        }
        return "idx:" + dir;
    }

    /** Every regular file under {@code dir} (relative name → bytes), to show that nothing changed. */
    static java.util.Map<String, byte[]> snapshot(Path dir) throws IOException {
        java.util.Map<String, byte[]> m = new java.util.TreeMap<>();
        try (var s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s::iterator)
                if (Files.isRegularFile(p)) m.put(dir.relativize(p).toString(), Files.readAllBytes(p));
        }
        return m;
    }

    static void assertSame(java.util.Map<String, byte[]> before, java.util.Map<String, byte[]> after) {
        org.junit.jupiter.api.Assertions.assertEquals(before.keySet(), after.keySet(), "files in the folder");
        for (String k : before.keySet())
            org.junit.jupiter.api.Assertions.assertArrayEquals(before.get(k), after.get(k), k + " changed");
    }
}
