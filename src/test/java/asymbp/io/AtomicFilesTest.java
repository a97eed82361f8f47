package asymbp.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 12, item 4: a failed write names the file and the reason, and leaves no temporary behind. */
class AtomicFilesTest {

    @Test
    void aFailedWriteNamesTheFileAndTheReason(@TempDir Path dir) throws Exception {
        Path missing = dir.resolve("no-such-folder").resolve("result.json");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(missing, out -> out.write(1)));
        assertEquals("cannot write " + missing + ": no such file or folder", e.getMessage());

        // The writer itself fails (as a full disk does): the file is named, the reason kept, nothing left over.
        Path target = dir.resolve("metrics.csv");
        e = assertThrows(IOException.class, () -> AtomicFiles.write(target, out -> {
            out.write(new byte[100]);
            throw new IOException("No space left on device");
        }));
        assertEquals("cannot write " + target + ": No space left on device", e.getMessage());
        try (var s = Files.list(dir)) {
            assertEquals(0, s.filter(p -> p.getFileName().toString().startsWith("metrics")).count(), "no metrics.csv.tmp left");
        }
    }
}
