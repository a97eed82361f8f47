package asymbp.cuda;

import asymbp.io.Text;
import asymbp.backend.BackendUnavailableException;
import jcuda.driver.CUdevice;
import jcuda.driver.CUresult;
import jcuda.driver.JCudaDriver;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR;

/**
 * The one place that first touches JCuda: loads the driver binding, runs cuInit once and lists the
 * devices. Every failure, including an {@link UnsatisfiedLinkError} when libcuda.so.1 is absent, becomes
 * a {@link BackendUnavailableException} with one line; the outcome is cached for the process.
 */
final class CudaDriver {
    private CudaDriver() {}

    /** What the probe found: one line per device. */
    record Probe(List<String> devices, int driverVersion) {}

    private static Probe probed;
    private static BackendUnavailableException failed;

    static synchronized Probe probe() throws BackendUnavailableException {
        if (probed != null) return probed;
        if (failed != null) throw new BackendUnavailableException(failed.getMessage(), failed);
        try {
            probed = doProbe();
            return probed;
        } catch (BackendUnavailableException e) {
            failed = e;
            throw e;
        } catch (UnsatisfiedLinkError e) {
            failed = new BackendUnavailableException(linkFailure(e.getMessage()), e);
            throw failed;
        } catch (LinkageError e) {
            failed = new BackendUnavailableException("cuda: the JCuda binding cannot load: " + Text.firstLine(e.toString()), e);
            throw failed;
        } catch (RuntimeException e) {
            failed = new BackendUnavailableException("cuda: probe failed: " + Text.firstLine(e.toString()), e);
            throw failed;
        }
    }

    private static Probe doProbe() throws BackendUnavailableException {
        JCudaDriver.setExceptionsEnabled(false);
        int rc = JCudaDriver.cuInit(0);
        if (rc != CUresult.CUDA_SUCCESS) {
            if (rc == CUresult.CUDA_ERROR_NO_DEVICE)
                throw new BackendUnavailableException("cuda: the driver is installed but reports no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)");
            throw new BackendUnavailableException("cuda: cuInit failed: " + CUresult.stringFor(rc));
        }
        int[] v = new int[1];
        check(JCudaDriver.cuDriverGetVersion(v), "cuDriverGetVersion");
        int[] count = new int[1];
        check(JCudaDriver.cuDeviceGetCount(count), "cuDeviceGetCount");
        if (count[0] == 0) throw new BackendUnavailableException("cuda: the driver reports no CUDA device");
        List<String> devices = new ArrayList<>();
        for (int i = 0; i < count[0]; i++) {
            CUdevice dev = new CUdevice();
            check(JCudaDriver.cuDeviceGet(dev, i), "cuDeviceGet");
            devices.add(describe(dev) + ", driver CUDA " + v[0] / 1000 + "." + (v[0] % 1000) / 10);
        }
        return new Probe(List.copyOf(devices), v[0]);
    }

    static String describe(CUdevice dev) {
        byte[] name = new byte[256];
        check(JCudaDriver.cuDeviceGetName(name, name.length, dev), "cuDeviceGetName");
        int len = 0;
        while (len < name.length && name[len] != 0) len++;
        int[] cc = computeCapability(dev);
        long[] mem = new long[1];
        check(JCudaDriver.cuDeviceTotalMem(mem, dev), "cuDeviceTotalMem");
        return new String(name, 0, len, StandardCharsets.UTF_8) + " (sm_" + cc[0] + cc[1] + ", "
                + (mem[0] >> 20) + " MiB)";
    }

    static int[] computeCapability(CUdevice dev) {
        int[] major = new int[1], minor = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev), "cuDeviceGetAttribute");
        check(JCudaDriver.cuDeviceGetAttribute(minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev), "cuDeviceGetAttribute");
        return new int[] {major[0], minor[0]};
    }

    /** Throws {@link CudaError} naming the call and the CUDA error when {@code rc} is not success. */
    static void check(int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS) throw new CudaError(call + " failed: " + CUresult.stringFor(rc) + " (" + rc + ")");
    }

    /** JCuda's message is a page of nested traces; pick the line that names the missing library. */
    static String linkFailure(String message) {
        String m = message == null ? "" : message;
        if (m.contains("libcuda.so.1"))
            return "cuda: the NVIDIA driver library libcuda.so.1 is not installed (no NVIDIA driver on this machine)";
        for (String line : m.split("\n")) {
            int i = line.indexOf("cannot open shared object file");
            if (i >= 0) {
                String lib = line.substring(0, i);
                int slash = lib.lastIndexOf(": ", lib.length() - 3);
                return "cuda: JCuda's native library cannot load: " + (slash >= 0 ? lib.substring(slash + 2) : lib).trim()
                        + " cannot open shared object file";
            }
        }
        return "cuda: JCuda's native library cannot load: " + Text.firstLine(m);
    }


    /** A CUDA driver call failed after the backend opened (out of memory, launch failure, ...). */
    static final class CudaError extends RuntimeException {
        CudaError(String message) { super("cuda: " + message); }
    }
}
