package asymbp.opencl;

import asymbp.backend.Backend;
import asymbp.backend.BackendProvider;
import asymbp.backend.BackendUnavailableException;

import java.util.List;

/**
 * Probes OpenCL through JOCL. This class names no org.jocl type: JOCL's native library (and the
 * system's libOpenCL it links against) loads only inside the try blocks below, so a machine without an
 * OpenCL platform gets one clear line instead of a linkage error.
 */
public final class OpenClProvider implements BackendProvider {

    @Override public String name() { return "opencl"; }

    @Override
    public List<String> devices() throws BackendUnavailableException {
        try {
            return ClDevices.describeAll();
        } catch (BackendUnavailableException e) {
            throw e;
        } catch (LinkageError | RuntimeException e) {
            throw unavailable(e);
        }
    }

    @Override
    public Backend open(int index) throws BackendUnavailableException {
        try {
            return asymbp.backend.DeviceBackend.open(new ClDevice(ClDevices.pick(index)));
        } catch (BackendUnavailableException e) {
            throw e;
        } catch (LinkageError | RuntimeException e) {
            throw unavailable(e);
        }
    }

    @Override
    public boolean isAccelerator(int index) throws BackendUnavailableException {
        try {
            return ClDevices.isAccelerator(ClDevices.pick(index));
        } catch (BackendUnavailableException e) {
            throw e;
        } catch (LinkageError | RuntimeException e) {
            throw unavailable(e);
        }
    }

    static BackendUnavailableException unavailable(Throwable e) {
        String why = e instanceof LinkageError
                ? "JOCL could not load its native library or the system's OpenCL loader (" + firstLine(e)
                  + "); JOCL opens the unversioned libOpenCL.so: install the ICD loader's dev package"
                  + " (Debian/Ubuntu: ocl-icd-opencl-dev) and an OpenCL driver (e.g. pocl-opencl-icd)"
                : firstLine(e);
        return new BackendUnavailableException("opencl: " + why, e);
    }

    static String firstLine(Throwable e) {
        return asymbp.io.Text.firstLine(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }
}
