package asymbp.backend;

import java.util.List;
import java.util.function.Consumer;

/** Finds backends by name and falls back cleanly: auto tries cuda, then opencl, then cpu. */
public final class Backends {
    private Backends() {}

    public static final List<String> NAMES = List.of("cpu", "opencl", "cuda");

    private static String providerClass(String name) {
        switch (name) {
            case "cpu": return "asymbp.cpu.CpuProvider";
            case "opencl": return "asymbp.opencl.OpenClProvider";
            case "cuda": return "asymbp.cuda.CudaProvider";
            default: throw new IllegalArgumentException("unknown backend '" + name + "' (expected auto, cpu, opencl or cuda)");
        }
    }

    /** The provider of one backend; loading it links nothing native. */
    public static BackendProvider provider(String name) throws BackendUnavailableException {
        String cls = providerClass(name);
        try {
            return (BackendProvider) Class.forName(cls).getDeclaredConstructor().newInstance();
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new BackendUnavailableException(name + ": backend not available in this build (" + e + ")", e);
        }
    }

    /**
     * Opens {@code which} ("auto", "cpu", "opencl", "cuda") on device {@code device}. Under auto every
     * backend that fails to open reports one line to {@code log} and the next is tried; the cpu backend
     * always opens. A named backend that fails throws, with its one-line reason.
     */
    public static Backend open(String which, int device, Consumer<String> log) throws BackendUnavailableException {
        if (!"auto".equals(which)) return provider(which).open(device);
        for (String name : List.of("cuda", "opencl")) {
            try {
                BackendProvider p = provider(name);
                if (!p.isAccelerator(device)) {
                    log.accept("backend " + name + " device " + device + " runs on the host CPU; the cpu backend is"
                            + " faster there (name --backend " + name + " to use it anyway)");
                    continue;
                }
                return p.open(device);
            } catch (BackendUnavailableException e) {
                log.accept("backend " + name + " unavailable: " + e.getMessage() + " — trying the next");
            }
        }
        return provider("cpu").open(0);
    }
}
