package asymbp.opencl;

import asymbp.backend.BackendUnavailableException;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.jocl.CL.*;

/** Enumerates OpenCL devices in a fixed order: platforms as the ICD lists them, then their devices. */
final class ClDevices {
    private ClDevices() {}

    record Entry(cl_platform_id platform, cl_device_id device, String description) {}

    static List<Entry> all() throws BackendUnavailableException {
        CL.setExceptionsEnabled(true);
        int[] count = new int[1];
        try {
            clGetPlatformIDs(0, null, count);
        } catch (org.jocl.CLException e) {
            throw new BackendUnavailableException("opencl: no OpenCL platform found (" + e.getMessage() + ")");
        }
        if (count[0] == 0) throw new BackendUnavailableException("opencl: no OpenCL platform found");
        cl_platform_id[] platforms = new cl_platform_id[count[0]];
        clGetPlatformIDs(platforms.length, platforms, null);
        List<Entry> out = new ArrayList<>();
        for (cl_platform_id p : platforms) {
            int[] n = new int[1];
            try {
                clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 0, null, n);
            } catch (org.jocl.CLException e) {
                continue;   // a platform without devices reports CL_DEVICE_NOT_FOUND
            }
            cl_device_id[] devs = new cl_device_id[n[0]];
            clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, devs.length, devs, null);
            for (cl_device_id d : devs) {
                String desc = platformString(p, CL_PLATFORM_NAME) + " / " + deviceString(d, CL_DEVICE_NAME)
                        + " (" + deviceString(d, CL_DEVICE_VERSION) + ", " + deviceInt(d, CL_DEVICE_MAX_COMPUTE_UNITS)
                        + " compute units, " + (deviceLong(d, CL_DEVICE_GLOBAL_MEM_SIZE) >> 20) + " MiB)";
                out.add(new Entry(p, d, desc));
            }
        }
        if (out.isEmpty()) throw new BackendUnavailableException("opencl: platforms found but no OpenCL device");
        return out;
    }

    static List<String> describeAll() throws BackendUnavailableException {
        List<String> lines = new ArrayList<>();
        for (Entry e : all()) lines.add(e.description());
        return lines;
    }

    static Entry pick(int index) throws BackendUnavailableException {
        List<Entry> all = all();
        if (index < 0 || index >= all.size())
            throw new BackendUnavailableException("opencl: --device " + index + " out of range (" + all.size()
                    + " OpenCL device(s): 0.." + (all.size() - 1) + ")");
        return all.get(index);
    }

    /** GPU or accelerator, as opposed to an OpenCL driver on the host CPU. */
    static boolean isAccelerator(Entry e) {
        long type = deviceLong(e.device(), CL_DEVICE_TYPE);
        return (type & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)) != 0;
    }

    static String platformString(cl_platform_id p, int param) {
        long[] size = new long[1];
        clGetPlatformInfo(p, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetPlatformInfo(p, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    static String deviceString(cl_device_id d, int param) {
        long[] size = new long[1];
        clGetDeviceInfo(d, param, 0, null, size);
        byte[] buf = new byte[(int) size[0]];
        clGetDeviceInfo(d, param, buf.length, Pointer.to(buf), null);
        return cString(buf);
    }

    static int deviceInt(cl_device_id d, int param) {
        int[] v = new int[1];
        clGetDeviceInfo(d, param, Sizeof.cl_uint, Pointer.to(v), null);
        return v[0];
    }

    static long deviceLong(cl_device_id d, int param) {
        long[] v = new long[1];
        clGetDeviceInfo(d, param, Sizeof.cl_ulong, Pointer.to(v), null);
        return v[0];
    }

    private static String cString(byte[] buf) {
        int n = 0;
        while (n < buf.length && buf[n] != 0) n++;
        return new String(buf, 0, n, StandardCharsets.UTF_8).trim();
    }
}
