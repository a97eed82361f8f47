package asymbp.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;

/**
 * A parallel-for over an index range: the range is cut into one contiguous chunk per thread, the
 * caller runs the first chunk itself and the pool the others. Tiny work stays on the calling thread,
 * where a fork and join (a few microseconds) would cost more than it saves.
 */
final class Parallel {

    /** Body of a parallel-for: handles [lo, hi) as chunk number {@code chunk}. */
    @FunctionalInterface
    interface Body {
        void run(int lo, int hi, int chunk);
    }

    /** Work, in rough multiply-adds, below which a range is run serially. */
    static final long SERIAL_BELOW = 1 << 15;

    private final int threads;
    private final ForkJoinPool pool;

    Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads == 1 ? null : new ForkJoinPool(this.threads - 1, p -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("asymbp-cpu-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    int threads() { return threads; }

    /**
     * Runs body over [0, n) in at most {@code threads} chunks whose boundaries are multiples of
     * {@code align} (except the last); serially when {@code work} (total) is below {@link #SERIAL_BELOW}.
     * Returns the number of chunks used.
     */
    int forRange(int n, int align, long work, Body body) {
        if (n <= 0) return 0;
        int units = (n + align - 1) / align;
        int chunks = (int) Math.min(threads, units);
        if (chunks <= 1 || work < SERIAL_BELOW) {
            body.run(0, n, 0);
            return 1;
        }
        @SuppressWarnings("unchecked")
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[chunks];
        for (int c = 1; c < chunks; c++) {
            final int chunk = c;
            final int lo = Math.min(n, (int) ((long) units * c / chunks) * align);
            final int hi = Math.min(n, (int) ((long) units * (c + 1) / chunks) * align);
            tasks[c] = pool.submit(() -> body.run(lo, hi, chunk));
        }
        Throwable failure = null;
        try {
            body.run(0, Math.min(n, (units / chunks) * align), 0);
        } catch (Throwable t) {
            failure = t;
        }
        for (int c = 1; c < chunks; c++) {
            try {
                tasks[c].join();
            } catch (Throwable t) {
                if (failure == null) failure = t;
            }
        }
        if (failure instanceof RuntimeException) throw (RuntimeException) failure;
        if (failure instanceof Error) throw (Error) failure;
        if (failure != null) throw new RuntimeException(failure);
        return chunks;
    }

    void close() {
        if (pool != null) pool.shutdown();
    }
}
