package asymbp.cpu;

import asymbp.backend.Backend;
import asymbp.backend.BackendProvider;
import asymbp.backend.BackendUnavailableException;
import java.util.List;

/**
 * The cpu backend always opens: one device, all cores, or {@code -Dasymbp.cpu.threads=N} threads per
 * backend instance (grid runs with several cells at once give each cell a share of the cores).
 */
public final class CpuProvider implements BackendProvider {
    public CpuProvider() {}

    @Override public String name() { return "cpu"; }

    @Override
    public List<String> devices() {
        int threads = threads();
        return List.of("cpu: " + threads + (threads == 1 ? " thread, " : " threads, ") + Kernels.best().description);
    }

    @Override
    public Backend open(int index) throws BackendUnavailableException {
        if (index != 0) throw new BackendUnavailableException("cpu: no device " + index + " (the cpu backend has only device 0)");
        return new CpuBackend(Kernels.best(), threads());
    }

    /** Threads per cpu backend: {@code asymbp.cpu.threads} when set (at least 1), else every core. */
    public static int threads() {
        return Math.max(1, Integer.getInteger(THREADS_PROPERTY, Runtime.getRuntime().availableProcessors()));
    }

    public static final String THREADS_PROPERTY = "asymbp.cpu.threads";
}
