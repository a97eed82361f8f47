package asymbp.cli;

import asymbp.io.FolderLock;
import asymbp.io.IoErrors;
import asymbp.train.Checkpoint;
import asymbp.train.Trainer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The output folder of one {@code train}, made safe before any work: a folder that already holds
 * anything is refused unless the run continues it ({@code --resume}) or replaces it ({@code --force},
 * which deletes what a run writes there, and refuses a folder holding anything else); the folder is
 * locked against a second process for the whole run ({@link FolderLock}); it must be writable.
 */
final class RunFolder implements AutoCloseable {

    /** What a run writes in its folder (and the temporaries of its atomic writes). */
    static final Set<String> RUN_FILES = Set.of(Trainer.RESULT, Trainer.METRICS, Trainer.LOG, Trainer.WEIGHTS,
            Checkpoint.FILE, FolderLock.FILE, "checkpoint.bin");

    /** A folder that cannot be used as asked; the message is one line naming --out and the folder. */
    static final class Refused extends IllegalArgumentException {
        Refused(String message) { super(message); }
    }

    final Path dir;
    private final FolderLock lock;

    private RunFolder(Path dir, FolderLock lock) {
        this.dir = dir;
        this.lock = lock;
    }

    /**
     * Checks, locks and (with force) clears {@code dir}.
     *
     * @throws Refused when the folder may not be used (holds a run, is not a folder, is not writable)
     * @throws FolderLock.HeldException when another process is running in it
     */
    static RunFolder open(Path dir, boolean resume, boolean force) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw new Refused("--out " + dir + ": exists and is not a folder");
        List<String> entries = entries(dir);
        entries.remove(FolderLock.FILE);
        if (!resume && !entries.isEmpty()) {
            List<String> foreign = new ArrayList<>();
            for (String e : entries) if (!isRunFile(e)) foreign.add(e);
            if (!foreign.isEmpty())
                throw new Refused("--out " + dir + ": not empty and not a run folder (holds " + first(foreign)
                        + "); choose a new or empty folder");
            if (!force)
                throw new Refused("--out " + dir + ": already holds a run (" + first(entries)
                        + "); give --resume to continue it, --force to delete it and start again, or another --out");
            List<String> inWeights = entries(dir.resolve(Trainer.WEIGHTS));
            inWeights.removeIf(n -> n.endsWith(".npy") || n.endsWith(".npy.tmp") || n.equals(Trainer.MODEL_JSON) || n.equals(Trainer.MODEL_JSON + ".tmp"));
            if (!inWeights.isEmpty())
                throw new Refused("--force: " + dir.resolve(Trainer.WEIGHTS) + " holds " + first(inWeights)
                        + ", which a run does not write; not deleting it");
        }
        FolderLock lock;
        try {
            lock = FolderLock.acquire(dir, "asymbp train");
        } catch (FolderLock.HeldException e) {
            throw e;
        } catch (IOException e) {
            throw new Refused("--out " + dir + ": " + e.getMessage());
        }
        try {
            if (!resume && force && !entries.isEmpty()) clear(dir, entries);
            probe(dir);
            return new RunFolder(dir, lock);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static boolean isRunFile(String name) {
        return RUN_FILES.contains(name) || name.startsWith(".write-test-") || name.endsWith(".tmp") && RUN_FILES.contains(name.substring(0, name.length() - 4));
    }

    private static String first(List<String> names) {
        return names.size() == 1 ? names.get(0) : names.get(0) + " and " + (names.size() - 1) + " more";
    }

    /** Sorted names in a folder; empty when it does not exist. */
    private static List<String> entries(Path dir) {
        if (!Files.isDirectory(dir)) return new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            List<String> names = new ArrayList<>();
            s.forEach(p -> names.add(p.getFileName().toString()));
            names.sort(null);
            return names;
        } catch (IOException e) {
            throw new Refused("--out " + dir + ": cannot list it: " + IoErrors.reason(e));
        }
    }

    private static void clear(Path dir, List<String> entries) throws IOException {
        for (String n : entries) {
            Path p = dir.resolve(n);
            try {
                if (Files.isDirectory(p)) {
                    for (String w : entries(p)) Files.delete(p.resolve(w));
                }
                Files.deleteIfExists(p);
            } catch (IOException e) {
                throw new Refused("--force: cannot delete " + p + ": " + IoErrors.reason(e));
            }
        }
    }

    /** Creates and deletes a file: a read-only folder fails here, not after an epoch of training. */
    private static void probe(Path dir) {
        Path p = dir.resolve(".write-test-" + ProcessHandle.current().pid());
        try {
            Files.write(p, new byte[] {1});
            Files.delete(p);
        } catch (IOException e) {
            throw new Refused("--out " + dir + ": not writable (" + IoErrors.reason(e) + ")");
        }
    }

    @Override public void close() throws IOException {
        lock.close();
    }
}
