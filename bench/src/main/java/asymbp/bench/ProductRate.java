package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;

import java.util.Locale;

/**
 * Quick GFLOP/s of the cpu backend's product (linearForward, y = x·Wᵀ) for compare.sh, without JMH's
 * forks: per shape M×K×N, validate, warm up, then best of five ~0.3 s rounds. Prints one JSON line per
 * shape. Usage: ProductRate [MxKxN ...] (default 1024x1024x1024 and the MLP's hidden layer at b128).
 */
public final class ProductRate {
    public static void main(String[] args) {
        String[] shapes = args.length > 0 ? args : new String[] {"1024x1024x1024", "128x1024x1024"};
        try (Backend backend = BenchSupport.openCpu()) {
            for (String shape : shapes) {
                String[] p = shape.split("x");
                int m = Integer.parseInt(p[0]), k = Integer.parseInt(p[1]), n = Integer.parseInt(p[2]);
                Buffer x = backend.alloc(DType.F32, (long) m * k), w = backend.alloc(DType.F32, (long) n * k),
                        y = backend.alloc(DType.F32, (long) m * n);
                backend.upload(x, SgemmBench.random(m * k, 1));
                backend.upload(w, SgemmBench.random(n * k, 2));
                SgemmBench.checkProduct(backend, y, x, w, m, k, n);
                double flop = 2.0 * m * n * k, best = 0;
                long deadline = System.nanoTime() + 2_000_000_000L;
                while (System.nanoTime() < deadline) backend.linearForward(y, x, w, null, m, k, n, false);
                backend.sync();
                for (int round = 0; round < 5; round++) {
                    int calls = 0;
                    long t0 = System.nanoTime(), t;
                    do {
                        backend.linearForward(y, x, w, null, m, k, n, false);
                        backend.sync();
                        calls++;
                        t = System.nanoTime();
                    } while (t - t0 < 300_000_000L);
                    best = Math.max(best, calls * flop / ((t - t0) / 1e9));
                }
                System.out.printf(Locale.ROOT, "{\"impl\":\"asymbp\",\"op\":\"linearForward\",\"shape\":\"%s\",\"gflops\":%.1f}%n",
                        shape, best / 1e9);
                backend.free(x);
                backend.free(w);
                backend.free(y);
            }
        }
    }
}
