package asymbp.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/** Writes a file so that readers see the old or the new content, never a half-written one. */
public final class AtomicFiles {
    private AtomicFiles() {}

    public interface Writer { void write(OutputStream out) throws IOException; }

    /**
     * Writes to {@code target}.tmp in the same directory, forces it to disk, then renames it over target.
     * A failure names the file and the reason ("cannot write DIR/x: No space left on device").
     */
    public static void write(Path target, Writer writer) throws IOException {
        try {
            writeOrThrow(target, writer);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(target.resolveSibling(target.getFileName() + ".tmp"));
            } catch (IOException ignored) {
                // the first failure is the one to report
            }
            throw IoErrors.wrap("write", target, e);
        }
    }

    private static void writeOrThrow(Path target, Writer writer) throws IOException {
        Path tmp = target.resolveSibling(target.getFileName() + ".tmp");
        try (var ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.CREATE,
                java.nio.file.StandardOpenOption.TRUNCATE_EXISTING, java.nio.file.StandardOpenOption.WRITE);
             OutputStream out = new java.io.BufferedOutputStream(java.nio.channels.Channels.newOutputStream(ch), 1 << 16)) {
            writer.write(out);
            out.flush();
            ch.force(true);
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
