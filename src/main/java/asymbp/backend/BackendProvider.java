package asymbp.backend;

import java.util.List;

/**
 * Probes and opens one kind of backend. Implementations are loaded by name ({@link Backends}), so a
 * machine without libcuda or an OpenCL platform never links JCuda/JOCL classes: a provider touches
 * them only inside {@link #devices} and {@link #open}, and turns every linkage or driver failure
 * (including {@link UnsatisfiedLinkError}) into a {@link BackendUnavailableException} with one line.
 */
public interface BackendProvider {
    /** "cpu", "opencl" or "cuda". */
    String name();

    /** One line per usable device, in the order {@code --device N} counts them. */
    List<String> devices() throws BackendUnavailableException;

    /** Opens device {@code index} (0-based). */
    Backend open(int index) throws BackendUnavailableException;

    /**
     * Whether device {@code index} is a real accelerator. {@code --backend auto} passes over devices that
     * are not (an OpenCL driver running on the host CPU, such as pocl, is far slower than the cpu backend).
     */
    default boolean isAccelerator(int index) throws BackendUnavailableException { return true; }
}
