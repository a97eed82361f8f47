package asymbp.cuda;

import asymbp.io.Text;
import asymbp.backend.Backend;
import asymbp.backend.BackendProvider;
import asymbp.backend.BackendUnavailableException;

import java.util.List;

/**
 * The CUDA backend's entry point. Loading this class links nothing native: JCuda is first touched in
 * {@link CudaDriver#probe}, which turns a missing libcuda.so.1, a missing device or any CUDA error into a
 * {@link BackendUnavailableException} with one line.
 */
public final class CudaProvider implements BackendProvider {

    @Override public String name() { return "cuda"; }

    @Override public List<String> devices() throws BackendUnavailableException {
        return probe().devices();
    }

    /** Also catches a linkage error raised while the JVM loads CudaDriver itself (JCuda jar missing). */
    private static CudaDriver.Probe probe() throws BackendUnavailableException {
        try {
            return CudaDriver.probe();
        } catch (LinkageError e) {
            throw new BackendUnavailableException("cuda: the JCuda binding is not usable: " + Text.firstLine(e.toString()), e);
        }
    }

    @Override public Backend open(int index) throws BackendUnavailableException {
        CudaDriver.Probe probe = probe();
        if (index < 0 || index >= probe.devices().size())
            throw new BackendUnavailableException("cuda: no device " + index + " (this machine has "
                    + probe.devices().size() + ": " + String.join("; ", probe.devices()) + ")");
        return asymbp.backend.DeviceBackend.open(CudaDevice.open(index));
    }

}
