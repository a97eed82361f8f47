package asymbp.cpu;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: {@link Parallel#forRange}'s contract — chunks cover the range once, aligned, the same chunk
 * always the same range, as many as it returns; serial below the work threshold or with one chunk; the
 * caller and a pool thread (daemon, named) both take chunks; a failure in a chunk reaches the caller.
 */
class ParallelTest {

    /** chunk → [lo, hi) of one call. */
    private static Map<Integer, int[]> chunks(Parallel par, int n, int align, long work, int[] returned) {
        Map<Integer, int[]> out = new TreeMap<>();
        returned[0] = par.forRange(n, align, work, (lo, hi, c) -> {
            synchronized (out) { assertNull(out.put(c, new int[] {lo, hi}), "chunk " + c + " ran twice"); }
        });
        return out;
    }

    @Test
    void chunksCoverTheRangeOnceAlignedAndAlwaysAlike() {
        Parallel par = new Parallel(2);
        try {
            for (int[] c : new int[][] {{100, 1, 8}, {10, 4, 3}, {1000, 32, 8}, {33, 32, 2}, {7, 1, 7}}) {
                int n = c[0], align = c[1];
                int[] ret = new int[1];
                Map<Integer, int[]> got = chunks(par, n, align, Parallel.SERIAL_BELOW, ret);
                assertEquals(c[2], ret[0], "n " + n + " align " + align + ": chunks returned");
                assertEquals(ret[0], got.size());
                int at = 0;
                for (int k = 0; k < got.size(); k++) {
                    int[] range = got.get(k);
                    assertEquals(at, range[0], "chunk " + k + " starts where the previous ended");
                    assertTrue(range[1] > range[0], "chunk " + k + " is not empty");
                    assertTrue(range[1] == n || range[1] % align == 0, "chunk " + k + " ends on a multiple of " + align);
                    at = range[1];
                }
                assertEquals(n, at, "the whole range");
                Map<Integer, int[]> again = chunks(par, n, align, Long.MAX_VALUE, new int[1]);
                assertEquals(got.keySet(), again.keySet());
                got.forEach((k, range) -> assertArrayEquals(range, again.get(k), "chunk " + k + " covers the same range every call"));
            }
        } finally {
            par.close();
        }
    }

    @Test
    void serialBelowTheThresholdOnOneThreadOrForOneChunk() {
        Parallel par = new Parallel(2), one = new Parallel(1), none = new Parallel(0);
        try {
            Thread caller = Thread.currentThread();
            List<String> runs = new ArrayList<>();
            Parallel.Body record = (lo, hi, c) -> {
                assertSame(caller, Thread.currentThread(), "serial work stays on the calling thread");
                runs.add(lo + ".." + hi + "#" + c);
            };
            assertEquals(1, par.forRange(100, 1, Parallel.SERIAL_BELOW - 1, record));
            assertEquals(1, one.forRange(100, 1, Long.MAX_VALUE, record));
            assertEquals(1, par.forRange(32, 32, Long.MAX_VALUE, record));
            assertEquals(1, none.forRange(5, 1, Long.MAX_VALUE, record));
            assertEquals(List.of("0..100#0", "0..100#0", "0..32#0", "0..5#0"), runs);
            assertEquals(0, par.forRange(0, 1, Long.MAX_VALUE, record));
            assertEquals(0, par.forRange(-3, 1, Long.MAX_VALUE, record));
            assertEquals(4, runs.size(), "an empty range runs nothing");
            assertEquals(1, none.threads());
            assertEquals(2, par.threads());
        } finally {
            par.close();
            one.close();
            none.close();
        }
    }

    @Test
    void theCallerAndADaemonPoolThreadBothTakeChunks() {
        Parallel par = new Parallel(2);
        try {
            // Each thread's first chunk waits until two threads have started one: with fewer, it times out.
            CountDownLatch both = new CountDownLatch(2);
            Set<Thread> seen = ConcurrentHashMap.newKeySet();
            int chunks = par.forRange(64, 1, Long.MAX_VALUE, (lo, hi, c) -> {
                if (seen.add(Thread.currentThread())) {
                    both.countDown();
                    try {
                        assertTrue(both.await(20, TimeUnit.SECONDS), "a second thread took a chunk");
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            });
            assertEquals(8, chunks);
            assertEquals(2, seen.size());
            assertTrue(seen.contains(Thread.currentThread()), "the caller takes chunks too");
            for (Thread t : seen)
                if (t != Thread.currentThread()) {
                    assertTrue(t.isDaemon(), "pool threads never keep the JVM alive");
                    assertTrue(t.getName().startsWith("asymbp-cpu-"), t.getName());
                }
        } finally {
            par.close();
        }
    }

    @Test
    void aFailureStopsThePoolTakingMoreChunks() {
        Parallel par = new Parallel(2);
        try {
            Thread caller = Thread.currentThread();
            java.util.concurrent.atomic.AtomicInteger helperChunks = new java.util.concurrent.atomic.AtomicInteger();
            assertThrows(IllegalStateException.class, () -> par.forRange(64, 1, Long.MAX_VALUE, (lo, hi, c) -> {
                if (Thread.currentThread() == caller) throw new IllegalStateException("caller's chunk " + c);
                helperChunks.incrementAndGet();
                try { Thread.sleep(100); } catch (InterruptedException e) { throw new AssertionError(e); }
            }));
            // the helper finishes the chunk it holds (and one it may have taken before the failure), no more
            assertTrue(helperChunks.get() <= 2, helperChunks.get() + " chunks ran on the pool after the caller's failed");
        } finally {
            par.close();
        }
    }

    @Test
    void aFailureOnAPoolThreadReachesTheCaller() {
        Parallel par = new Parallel(2);
        try {
            Thread caller = Thread.currentThread();
            CountDownLatch helperStarted = new CountDownLatch(1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> par.forRange(64, 1, Long.MAX_VALUE, (lo, hi, c) -> {
                if (Thread.currentThread() != caller) {
                    helperStarted.countDown();
                    throw new IllegalStateException("pool chunk");
                }
                try {   // the caller's chunks wait for the pool thread to take one
                    assertTrue(helperStarted.await(20, TimeUnit.SECONDS), "a pool thread took a chunk");
                } catch (InterruptedException x) {
                    throw new AssertionError(x);
                }
            }));
            assertFailure("pool chunk", e);
        } finally {
            par.close();
        }
    }

    /** The chunk's own throwable, or (thrown on a pool thread) ForkJoinTask's copy of it wrapping it. */
    private static void assertFailure(String message, Throwable t) {
        assertTrue(message.equals(t.getMessage()) || t.getCause() != null && t.getCause().getClass() == t.getClass()
                && message.equals(t.getCause().getMessage()), t.toString());
    }

    @Test
    void aFailureInAnyChunkReachesTheCaller() {
        Parallel par = new Parallel(2);
        try {
            for (int bad = 0; bad < 8; bad++) {
                int b = bad;
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> par.forRange(64, 1, Long.MAX_VALUE, (lo, hi, c) -> {
                    if (c == b) throw new IllegalStateException("chunk " + c);
                }));
                assertFailure("chunk " + bad, e);
                AssertionError err = assertThrows(AssertionError.class, () -> par.forRange(64, 1, Long.MAX_VALUE, (lo, hi, c) -> {
                    if (c == b) throw new AssertionError("error in chunk " + c);
                }));
                assertFailure("error in chunk " + bad, err);
            }
        } finally {
            par.close();
        }
    }
}
