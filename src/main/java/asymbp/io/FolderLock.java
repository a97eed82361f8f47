package asymbp.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on an output folder (a run's or a grid's), held by this process until closed, so
 * two processes never write one folder. An OS file lock on {@code DIR/.lock}: the OS drops it when the
 * process dies (kill -9 included), so a stale file never blocks a later run. The file names the last holder.
 */
public final class FolderLock implements AutoCloseable {

    /** Another process (or another lock in this one) holds the folder; the message is one line. */
    public static final class HeldException extends IOException {
        public HeldException(String message) { super(message); }
    }

    public static final String FILE = ".lock";

    private final FileChannel channel;
    private final FileLock lock;

    private FolderLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /**
     * Locks {@code dir} (created if missing) for {@code what} (e.g. "train", "grid run").
     * @throws HeldException when another process holds it, naming the folder and the holder
     * @throws IOException when the folder or its lock file cannot be created (the message names the path)
     */
    public static FolderLock acquire(Path dir, String what) throws IOException {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IOException("cannot create output folder " + dir + ": " + IoErrors.reason(e), e);
        }
        Path file = dir.resolve(FILE);
        FileChannel ch;
        try {
            ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new IOException("cannot write lock file " + file + ": " + IoErrors.reason(e), e);
        }
        FileLock l;
        try {
            l = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            l = null;
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot lock " + file + ": " + IoErrors.reason(e), e);
        }
        if (l == null) {
            String holder;
            try {
                holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
            } catch (IOException e) {
                holder = "";
            }
            ch.close();
            throw new HeldException("output folder " + dir + " is in use by another process"
                    + (holder.isEmpty() ? "" : " (" + holder + ")") + "; wait for it to finish or choose another folder");
        }
        String me = what + ", pid " + ProcessHandle.current().pid() + ", since " + java.time.Instant.now();
        ch.truncate(0);
        ch.write(java.nio.ByteBuffer.wrap(me.getBytes(StandardCharsets.UTF_8)), 0);
        ch.force(false);
        return new FolderLock(ch, l);
    }


    @Override public void close() throws IOException {
        try {
            if (lock.isValid()) lock.release();
        } finally {
            // The file stays: deleting it would let a second process lock the old inode while a third
            // creates a new file and locks that too.
            channel.close();
        }
    }
}
