package asymbp.cpu;

/**
 * Measures SGEMM throughput: {@code java --add-modules jdk.incubator.vector -cp ... asymbp.cpu.GemmBenchmark [n] [threads]}.
 */
public final class GemmBenchmark {
    private GemmBenchmark() {}

    /** GFLOP/s of C = A·Bᵀ (the forward product) on n×n matrices, best of repeats within about {@code millis}. */
    static double gflops(Kernels kernels, int n, int threads, long millis) {
        Gemm gemm = new Gemm(kernels.kernel, kernels.feedback);
        Parallel par = new Parallel(threads);
        try {
            java.util.SplittableRandom r = new java.util.SplittableRandom(1);
            float[] a = new float[n * n], b = new float[n * n], c = new float[n * n];
            for (int i = 0; i < a.length; i++) { a[i] = (float) r.nextDouble(); b[i] = (float) r.nextDouble(); }
            Gemm.Strided aOp = Gemm.Strided.rowMajor(a, 0, n), bOp = Gemm.Strided.transposed(b, 0, n);
            // Warm-up on a small product until the JIT has compiled the kernel (the first calls run interpreted).
            float[] small = new float[128 * 128];
            for (long w0 = System.nanoTime(); System.nanoTime() - w0 < millis * 500_000L; )
                gemm.multiply(par, 128, 128, 128, Gemm.Strided.rowMajor(a, 0, 128), Gemm.Strided.transposed(b, 0, 128), small, 0, 128, false);
            double best = Double.MAX_VALUE;
            long end = System.nanoTime() + millis * 1_000_000L;
            int runs = 0;
            do {
                long t0 = System.nanoTime();
                gemm.multiply(par, n, n, n, aOp, bOp, c, 0, n, false);
                best = Math.min(best, (System.nanoTime() - t0) * 1e-9);
                runs++;
            } while (System.nanoTime() < end || runs < 3);
            return 2.0 * n * n * n / best * 1e-9;
        } finally {
            par.close();
        }
    }

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1024;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : Runtime.getRuntime().availableProcessors();
        for (Kernels k : new Kernels[] {Kernels.best(), Kernels.scalar("for comparison")})
            System.out.printf("SGEMM %dx%dx%d, %s, %d threads: %.1f GFLOP/s%n", n, n, n, k.description, threads,
                    gflops(k, n, threads, 2000));
    }
}
