package asymbp.io;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * One-line messages for I/O failures. Java's exceptions often carry only a path (AccessDeniedException)
 * or only a reason ("No space left on device"); these name both.
 */
public final class IoErrors {
    private IoErrors() {}

    /** Why an operation failed, without the path: "permission denied", "No space left on device", ... */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException) return "permission denied";
        if (e instanceof NoSuchFileException) return "no such file or folder";
        if (e instanceof NotDirectoryException) return "not a folder";
        if (e instanceof FileAlreadyExistsException) return "already exists";
        if (e instanceof DirectoryNotEmptyException) return "folder not empty";
        if (e instanceof FileSystemException fse && fse.getReason() != null) return fse.getReason();
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : Text.firstLine(m);
    }

    /** "cannot WHAT FILE: REASON" as an IOException keeping the cause. */
    public static IOException wrap(String what, Path file, IOException e) {
        return new IOException("cannot " + what + " " + file + ": " + reason(e), e);
    }
}
