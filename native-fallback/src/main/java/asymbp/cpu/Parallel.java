package asymbp.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A parallel-for over an index range: the range is cut into a few contiguous chunks per thread, which
 * the caller and the pool's threads take in turn. Tiny work stays on the calling thread, where a fork
 * and join (a few microseconds) would cost more than it saves.
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
            t.setName("asymbp-cpu-" + t.getPoolIndex());   // a pool's workers are daemons already
            return t;
        }, null, false);
    }

    int threads() { return threads; }

    /** Chunks per thread: enough that a thread slowed by other work on its core hands chunks to the other. */
    static final int CHUNKS_PER_THREAD = 4;

    /**
     * Runs body over [0, n) cut into chunks whose boundaries are multiples of {@code align} (except the
     * last); serially when {@code work} (total) is below {@link #SERIAL_BELOW}. Threads take chunks in
     * turn until none is left (dynamic balance on shared cores). Chunk c always covers the same range
     * and runs exactly once, so a body that keeps per-chunk partial results stays deterministic. Returns
     * the number of chunks (at most threads·{@link #CHUNKS_PER_THREAD}).
     */
    int forRange(int n, int align, long work, Body body) {
        if (n <= 0) return 0;
        int units = (n + align - 1) / align;
        int chunks = (int) Math.min(units, (long) threads * CHUNKS_PER_THREAD);
        if (threads == 1 || chunks <= 1 || work < SERIAL_BELOW) {
            body.run(0, n, 0);
            return 1;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                int lo = Math.min(n, (int) ((long) units * c / chunks) * align);
                int hi = Math.min(n, (int) ((long) units * (c + 1) / chunks) * align);
                body.run(lo, hi, c);
            }
        };
        int helpers = Math.min(threads, chunks) - 1;
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[helpers];
        for (int h = 0; h < helpers; h++) tasks[h] = pool.submit(worker);
        Throwable failure = null;
        try {
            worker.run();
        } catch (Throwable t) {
            failure = t;
            next.set(chunks);   // stop the helpers taking more
        }
        for (ForkJoinTask<?> task : tasks) {
            try {
                task.join();
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
