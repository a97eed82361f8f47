package asymbp.cpu;

import asymbp.backend.Backend;
import asymbp.backend.BackendProvider;
import asymbp.backend.BackendUnavailableException;
import java.util.List;

/** The cpu backend always opens: one device, all cores. */
public final class CpuProvider implements BackendProvider {
    public CpuProvider() {}

    @Override public String name() { return "cpu"; }

    @Override
    public List<String> devices() {
        int threads = Runtime.getRuntime().availableProcessors();
        return List.of("cpu: " + threads + (threads == 1 ? " thread, " : " threads, ") + Kernels.best().description);
    }

    @Override
    public Backend open(int index) throws BackendUnavailableException {
        if (index != 0) throw new BackendUnavailableException("cpu: no device " + index + " (the cpu backend has only device 0)");
        return new CpuBackend();
    }
}
