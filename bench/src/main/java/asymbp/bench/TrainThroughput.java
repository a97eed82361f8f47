package asymbp.bench;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.train.Trainer;
import com.fasterxml.jackson.databind.ObjectMapper;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * Training throughput of the engine on the cpu backend, timed exactly as bench/pytorch/train_bench.py
 * times PyTorch: untimed warm-up steps, then steps for a fixed time, images/s = steps·batch / seconds.
 * Prints one JSON line per repetition; with --profile, then a table of where a step's time goes.
 */
@Command(name = "train-throughput", mixinStandardHelpOptions = true,
        description = "Images/s of Trainer.step() on the cpu backend (peer of bench/pytorch/train_bench.py).")
public final class TrainThroughput implements Callable<Integer> {

    @Option(names = "--model", defaultValue = "lenet", description = "lenet, mlp (= mlp:1024-1024-1024) or mlp:W1-W2-...")
    String model;
    @Option(names = "--mode", defaultValue = "brsf", description = "feedback mode: bp, usf, brsf, frsf, fa, psf:p")
    String mode;
    @Option(names = "--update", defaultValue = "sgd", description = "sgd or bm")
    String update;
    @Option(names = "--batch", defaultValue = "0", description = "0: 64 for lenet, 128 for mlp")
    int batch;
    @Option(names = "--data", defaultValue = "synthetic", description = "synthetic or a dataset spec (mnist, idx:DIR, ...)")
    String data;
    @Option(names = "--warmup", defaultValue = "30", description = "at least this many untimed steps first")
    int warmup;
    @Option(names = "--warmup-seconds", defaultValue = "3", description = "and untimed steps for at least this long (the JIT compiles here)")
    double warmupSeconds;
    @Option(names = "--seconds", defaultValue = "8", description = "time steps for about this long")
    double seconds;
    @Option(names = "--steps", defaultValue = "0", description = "time exactly this many steps instead")
    int steps;
    @Option(names = "--repeat", defaultValue = "1")
    int repeat;
    @Option(names = "--profile", defaultValue = "0", description = "after timing, profile this many steps op by op")
    int profileSteps;

    public static void main(String[] args) {
        System.exit(new CommandLine(new TrainThroughput()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        int b = batch > 0 ? batch : BenchSupport.defaultBatch(model);
        Dataset ds = BenchSupport.dataset(data);
        ObjectMapper json = new ObjectMapper();
        try (Backend cpu = BenchSupport.openCpu()) {
            ProfilingBackend backend = new ProfilingBackend(cpu);
            backend.enable(false);
            try (Trainer trainer = BenchSupport.trainer(backend, ds, model, mode, update, b)) {
                float loss = Float.NaN;
                long w0 = System.nanoTime();
                for (int i = 0; i < warmup || System.nanoTime() - w0 < warmupSeconds * 1e9; i++) loss = trainer.step();
                if (!Float.isFinite(loss))
                    throw new IllegalStateException(model + "/" + mode + ": loss " + loss + " after warm-up");
                for (int r = 0; r < repeat; r++) {
                    int n = 0;
                    long t0 = System.nanoTime();
                    double elapsed;
                    while (true) {
                        loss = trainer.step();
                        n++;
                        elapsed = (System.nanoTime() - t0) / 1e9;
                        if (steps > 0 ? n >= steps : elapsed >= seconds) break;
                    }
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("impl", "asymbp");
                    row.put("model", model);
                    row.put("mode", mode);
                    row.put("update", update);
                    row.put("batch", b);
                    row.put("steps", n);
                    row.put("seconds", round(elapsed, 4));
                    row.put("ms_per_step", round(1000 * elapsed / n, 4));
                    row.put("images_per_s", round(n * (double) b / elapsed, 1));
                    row.put("loss", round(loss, 4));
                    row.put("backend", cpu.deviceName());
                    row.put("data", ds.name());
                    row.put("rep", r);
                    row.put("java", Runtime.version().toString());
                    System.out.println(json.writeValueAsString(row));
                }
                if (profileSteps > 0) {
                    backend.reset();
                    backend.enable(true);
                    long t0 = System.nanoTime();
                    for (int i = 0; i < profileSteps; i++) trainer.step();
                    double ms = (System.nanoTime() - t0) / 1e6 / profileSteps;
                    backend.enable(false);
                    System.out.printf("profile %s %s b%d: %.3f ms/step with a sync after every op%n", model, mode, b, ms);
                    backend.report(profileSteps).forEach(System.out::println);
                }
            }
        }
        return 0;
    }

    private static double round(double v, int digits) {
        double f = Math.pow(10, digits);
        return Math.round(v * f) / f;
    }
}
