package asymbp.io;

import java.util.Locale;

/**
 * What the JVM can still allocate, so a declared size (a file header, a model width) is checked before
 * the allocation rather than failing with an OutOfMemoryError halfway.
 */
public final class Memory {
    private Memory() {}

    /** Bytes the heap can still grow into: max − used, after one GC when that looks short. */
    public static long available() {
        Runtime r = Runtime.getRuntime();
        long free = r.maxMemory() - (r.totalMemory() - r.freeMemory());
        return free;
    }

    /**
     * Null when {@code bytes} fit the heap; otherwise a message "needs 2.2 GiB of memory, the JVM has
     * 0.9 GiB free (-Xmx 1.0 GiB)" to append to the caller's description.
     */
    public static String shortage(long bytes) {
        if (bytes < 0) return "needs more memory than a long can count";
        if (bytes <= available()) return null;
        System.gc(); // what looked used may be garbage
        long free = available();
        if (bytes <= free) return null;
        return "needs " + gib(bytes) + " of memory, the JVM has " + gib(free) + " free (maximum heap "
                + gib(Runtime.getRuntime().maxMemory()) + "; raise it with -Xmx)";
    }

    public static String gib(long bytes) {
        if (bytes < (1L << 30)) return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) (1L << 20));
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
