package asymbp.data;

import static asymbp.data.TestFiles.assertFails;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Spec parsing, data-directory resolution and the errors for names and options. */
class DatasetsSpecTest {

    @Test
    void unknownNamesKindsAndOptions() {
        assertFails("nope", "'nope'", "unknown dataset 'nope'", "mnist", "folder");
        assertFails("tarball:/x", "tarball:/x", "unknown loader 'tarball:'");
        assertFails("mnist?size=3", "mnist?size=3", "unknown option 'size'", "takes no options");
        assertFails("cifar100:/x?labels=medium", "cifar100:/x", "labels=medium not one of fine, coarse");
        assertFails("folder:/x?size", "folder:/x?size", "option 'size' is not key=value");
        assertFails("folder:/x?size=3&size=4", "folder:/x", "option 'size' given twice");
        assertThrows(DatasetException.class, () -> Datasets.load(" "));
    }

    @Test
    void optionsAreCheckedBeforeFilesAreRead() {
        // The directory does not exist, but the bad option is what is reported.
        assertFails("svhn:/does/not/exist?extra=2", "svhn:/does/not/exist", "extra=2");
        assertFails("caltech101?sizee=64", "caltech101", "unknown option 'sizee'");
    }

    @Test
    void dataDirectoryOrder() {
        Path cwd = Path.of("datasets", "cache"), home = Path.of("/home/u/.asymbp/data");
        assertEquals(List.of(Path.of("/data")), Datasets.dataDirs("/data", cwd, home));
        assertEquals(List.of(cwd, home), Datasets.dataDirs(null, cwd, home));
        assertEquals(List.of(cwd, home), Datasets.dataDirs("  ", cwd, home));
    }

    @Test
    void homeIsExpandedInPaths() {
        assertEquals(Path.of(System.getProperty("user.home"), "data", "x"), Datasets.expandHome("~/data/x"));
        assertEquals(Path.of("a/~b"), Datasets.expandHome("a/~b"));
    }

    @Test
    void missingPaperDatasetSaysHowToFetchIt() {
        // stl10 is never present on the build machines (no route to its host).
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.load("stl10"));
        System.out.println("  expected failure: " + e.getMessage());
        assertTrue(e.getMessage().contains("dataset 'stl10' not found"), e.getMessage());
        assertTrue(e.getMessage().contains("datasets/fetch-paper-datasets.sh stl10"), e.getMessage());
        assertTrue(e.getMessage().contains("ASYMBP_DATA"), e.getMessage());
    }
}
