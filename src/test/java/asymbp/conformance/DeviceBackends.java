package asymbp.conformance;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

import java.util.List;

/**
 * Opens the device backends under test with the project's skip rule: a backend that does not open is
 * skipped inside the test with its one-line reason printed, except that under env CI=true an absent
 * OpenCL is a failure (CI machines carry pocl, so a missing platform there is a broken build), and a
 * backend named in {@code -Dasymbp.require=cuda[,opencl]} is a failure (the GPU check sets it, so a
 * CUDA backend that fails to open on the GPU machine cannot pass as "skipped").
 */
public final class DeviceBackends {
    private DeviceBackends() {}

    /**
     * Every device backend the suite proves against the CPU oracle; {@code -Dasymbp.test.backends=cuda} (a
     * comma-separated subset) narrows it, so the GPU check runs CUDA and OpenCL as separate phases.
     */
    public static final List<String> NAMES = selected(System.getProperty("asymbp.test.backends"), List.of("opencl", "cuda"));

    static List<String> selected(String property, List<String> all) {
        if (property == null || property.isBlank()) return all;
        List<String> names = List.of(property.trim().split("\\s*,\\s*"));
        for (String n : names)
            if (!all.contains(n))
                throw new IllegalArgumentException("-Dasymbp.test.backends=" + property + ": unknown backend '" + n
                        + "'; known: " + String.join(", ", all));
        return names;
    }

    public static Backend openOrSkip(String name) {
        boolean listed = false;
        try {
            var provider = Backends.provider(name);
            listed = !provider.devices().isEmpty();
            return provider.open(0);
        } catch (BackendUnavailableException e) {
            // A device that is listed but does not open (kernel build failure, ...) is a bug, not a skip.
            if (listed) Assertions.fail("backend " + name + " lists a device but does not open: " + e.getMessage(), e);
            String reason = "backend " + name + " unavailable: " + e.getMessage();
            System.out.println("[skip] " + reason);
            if ("opencl".equals(name) && "true".equalsIgnoreCase(System.getenv("CI")))
                Assertions.fail("CI=true and " + reason);
            if (required(name)) Assertions.fail("-Dasymbp.require names " + name + ", but " + reason);
            Assumptions.abort(reason);
            throw new AssertionError("unreachable");
        }
    }

    /** Whether {@code -Dasymbp.require} (a comma-separated list of backend names) names {@code backend}. */
    public static boolean required(String backend) {
        for (String n : System.getProperty("asymbp.require", "").split(","))
            if (n.trim().equals(backend)) return true;
        return false;
    }

    /** The CPU oracle every device backend is compared with. */
    public static Backend cpu() {
        try {
            return Backends.provider("cpu").open(0);
        } catch (BackendUnavailableException e) {
            throw new AssertionError("the cpu backend must always open: " + e.getMessage(), e);
        }
    }

    /** The run's seed: -Dasymbp.seed=N reproduces a run, otherwise a fresh one; printed either way. */
    public static long seed(String what) {
        String prop = System.getProperty("asymbp.seed");
        long seed = prop != null ? Long.parseLong(prop.trim()) : System.nanoTime() ^ (long) what.hashCode() * 0x9E3779B97F4A7C15L;
        System.out.println("[seed] " + what + ": " + seed + " (reproduce with -Dasymbp.seed=" + seed + ")");
        return seed;
    }
}
