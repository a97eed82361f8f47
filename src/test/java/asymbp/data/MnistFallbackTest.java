package asymbp.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The GPU package's jar carries no MNIST: the loader then reads datasets/mnist from the working tree (or
 * -Dasymbp.mnist.dir), with the same SHA-256 check. A class loader that sees only the JDK stands for that jar.
 */
class MnistFallbackTest {

    private static final ClassLoader NO_MNIST = new ClassLoader(null) {};
    private static final Path TREE = Path.of("datasets", "mnist");

    private static Path copyOfTree(Path dir) throws IOException {
        for (String role : Idx.ROLES) Files.copy(TREE.resolve(role + ".gz"), dir.resolve(role + ".gz"));
        return dir;
    }

    @Test
    void jarWithoutMnistReadsTheDirectoryPropertyFirst(@TempDir Path tmp) throws IOException {
        assertTrue(NO_MNIST.getResource(Datasets.MNIST_RESOURCE_DIR + Idx.ROLES[0] + ".gz") == null);
        Path dir = copyOfTree(tmp);
        // The property wins over the working directory's folder (here one that does not exist).
        Dataset d = Datasets.loadMnist(NO_MNIST, dir.toString(), tmp.resolve("absent"));
        assertEquals(60000, d.trainCount());
        assertEquals(10000, d.testCount());
        int[] first = new int[10];
        System.arraycopy(d.trainLabels(), 0, first, 0, 10);
        assertArrayEquals(new int[] {5, 0, 4, 1, 9, 2, 1, 3, 1, 4}, first);
    }

    @Test
    void withoutThePropertyTheWorkingTreesFolderIsRead() {
        Dataset d = Datasets.loadMnist(NO_MNIST, null, TREE);
        assertEquals(60000, d.trainCount());
        assertEquals(10, d.classes());
    }

    @Test
    void aChangedFileFailsTheChecksumNamingIt(@TempDir Path tmp) throws IOException {
        Path dir = copyOfTree(tmp);
        Path labels = dir.resolve("train-labels-idx1-ubyte.gz");
        byte[] raw;
        try (InputStream in = new GZIPInputStream(Files.newInputStream(labels))) {
            raw = in.readAllBytes();
        }
        Random r = TestFiles.random("mnist fallback checksum");
        int at = 8 + r.nextInt(60000);  // one label after the 8-byte header
        raw[at] = (byte) ((raw[at] + 1 + r.nextInt(9)) % 10);
        ByteArrayOutputStream gz = new ByteArrayOutputStream();
        try (GZIPOutputStream out = new GZIPOutputStream(gz)) {
            out.write(raw);
        }
        Files.write(labels, gz.toByteArray());
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.loadMnist(NO_MNIST, dir.toString(), TREE));
        System.out.println("mnist fallback: " + e.getMessage());
        assertTrue(e.getMessage().startsWith(labels.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("SHA-256"), e.getMessage());
    }

    @Test
    void neitherJarNorFolderIsOneLineNamingThePath(@TempDir Path tmp) {
        Path absent = tmp.resolve("no-mnist");
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.loadMnist(NO_MNIST, null, absent));
        System.out.println("mnist fallback: " + e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
        assertTrue(e.getMessage().startsWith(absent.toAbsolutePath().toString()), e.getMessage());
        assertTrue(e.getMessage().contains("-Dasymbp.mnist.dir"), e.getMessage());
        DatasetException p = assertThrows(DatasetException.class, () -> Datasets.loadMnist(NO_MNIST, absent.toString(), TREE));
        assertTrue(p.getMessage().contains("nor in -Dasymbp.mnist.dir"), p.getMessage());
    }
}
