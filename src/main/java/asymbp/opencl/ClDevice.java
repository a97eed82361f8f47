package asymbp.opencl;

import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Device;
import asymbp.backend.DeviceBuffer;
import asymbp.backend.Kernel;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.jocl.cl_program;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

import static org.jocl.CL.*;

/**
 * The OpenCL {@link Device}: one in-order queue, the program built from the kernel sources in the jar
 * (version 1 of every op), one cached cl_kernel per kernel. A buffer argument is (cl_mem, int element
 * offset), a nullable one also an int has-flag, with a dummy buffer standing in for null (see
 * kernels/common/vendor_cl.h). The context and program are shared per device for the JVM's life ({@link Shared}).
 */
final class ClDevice implements Device {

    static final String BUILD_OPTIONS = "-cl-fp32-correctly-rounded-divide-sqrt";

    private final ClDevices.Entry entry;
    private final cl_context context;
    private final cl_program program;
    private final cl_command_queue queue;
    private final Map<Kernel, cl_kernel> kernels = new EnumMap<>(Kernel.class);
    private final cl_mem dummy;
    private final boolean cpu, directProducts;

    ClDevice(ClDevices.Entry entry) throws BackendUnavailableException {
        this.entry = entry;
        Shared shared = Shared.of(entry);
        this.context = shared.context;
        this.program = shared.program;
        this.queue = clCreateCommandQueue(context, entry.device(), 0, null); // in order
        this.dummy = clCreateBuffer(context, CL_MEM_READ_WRITE, 4, null, null);
        this.cpu = (ClDevices.deviceLong(entry.device(), CL_DEVICE_TYPE) & CL_DEVICE_TYPE_CPU) != 0;
        // -Dasymbp.opencl.products=direct|tiled overrides the choice by device type (auto).
        String products = System.getProperty("asymbp.opencl.products", "auto");
        this.directProducts = products.equals("auto") ? cpu : products.equals("direct");
    }

    @Override public boolean directProducts() { return directProducts; }

    /** OpenCL has no free-memory query: the device's global memory, and its largest single buffer. */
    @Override public asymbp.backend.DeviceMemory memory() {
        return asymbp.backend.DeviceMemory.of(ClDevices.deviceLong(entry.device(), CL_DEVICE_GLOBAL_MEM_SIZE),
                ClDevices.deviceLong(entry.device(), CL_DEVICE_MAX_MEM_ALLOC_SIZE),
                "CL_DEVICE_GLOBAL_MEM_SIZE and CL_DEVICE_MAX_MEM_ALLOC_SIZE");
    }

    /**
     * One context and the engine's program per device, created on first use and kept for the JVM's
     * life: creating contexts after others had been released crashed pocl 3.1 (SIGSEGV, no JVM error
     * file) in about one CI run in ten, and the build costs seconds per backend. Devices own only their
     * queue, kernels and buffers.
     */
    private record Shared(cl_context context, cl_program program) {
        private static final Map<String, Shared> BY_DEVICE = new HashMap<>();

        static synchronized Shared of(ClDevices.Entry entry) throws BackendUnavailableException {
            String key = entry.device().toString(); // the native handle
            Shared s = BY_DEVICE.get(key);
            if (s != null) return s;
            cl_context_properties props = new cl_context_properties();
            props.addProperty(CL_CONTEXT_PLATFORM, entry.platform());
            cl_context ctx = clCreateContext(props, 1, new cl_device_id[] {entry.device()}, null, null, null);
            try {
                s = new Shared(ctx, build(ctx, entry, KernelSource.program()));
            } catch (BackendUnavailableException | RuntimeException e) {
                clReleaseContext(ctx);
                throw e;
            }
            BY_DEVICE.put(key, s);
            return s;
        }
    }

    /** Builds a program for this device (tests: probes of the shared headers); a failure carries the build log. */
    cl_program build(String source) throws BackendUnavailableException { return build(context, entry, source); }

    private static cl_program build(cl_context context, ClDevices.Entry entry, String source) throws BackendUnavailableException {
        cl_program p = clCreateProgramWithSource(context, 1, new String[] {source}, null, null);
        try {
            clBuildProgram(p, 1, new cl_device_id[] {entry.device()}, BUILD_OPTIONS, null, null);
        } catch (CLException e) {
            String log = buildLog(p, entry.device());
            clReleaseProgram(p);
            throw new BackendUnavailableException("opencl: kernel build failed on " + entry.description() + " ("
                    + OpenClProvider.firstLine(e) + "); build log: " + oneLine(log), e);
        }
        return p;
    }

    /** The build log on one line: blank lines dropped, the rest joined by " | ". */
    static String oneLine(String log) {
        StringBuilder sb = new StringBuilder();
        for (String line : log.split("\n")) {
            if (line.isBlank()) continue;
            if (sb.length() > 0) sb.append(" | ");
            sb.append(line.trim());
        }
        return sb.toString();
    }

    private static String buildLog(cl_program p, cl_device_id device) {
        try {
            long[] size = new long[1];
            clGetProgramBuildInfo(p, device, CL_PROGRAM_BUILD_LOG, 0, null, size);
            byte[] buf = new byte[(int) size[0]];
            clGetProgramBuildInfo(p, device, CL_PROGRAM_BUILD_LOG, buf.length, Pointer.to(buf), null);
            return new String(buf, java.nio.charset.StandardCharsets.UTF_8).replace("\0", "");
        } catch (CLException e) {
            return "(no build log: " + e.getMessage() + ")";
        }
    }

    cl_command_queue queue() { return queue; }

    @Override public String name() { return "opencl"; }
    @Override public String description() { return entry.description(); }
    @Override public boolean tuned() { return false; }
    @Override public int units() { return ClDevices.deviceInt(entry.device(), CL_DEVICE_MAX_COMPUTE_UNITS); }
    @Override public boolean cpu() { return cpu; }

    @Override public Object alloc(long bytes) { return clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null); }
    @Override public void free(Object handle) { clReleaseMemObject((cl_mem) handle); }

    @Override public void upload(DeviceBuffer dst, Object array, int n) {
        clEnqueueWriteBuffer(queue, mem(dst), CL_TRUE, dst.byteOffset(), (long) n * dst.dtype().bytes, pointer(array), 0, null, null);
    }

    @Override public void download(Object array, int n, DeviceBuffer src) {
        clEnqueueReadBuffer(queue, mem(src), CL_TRUE, src.byteOffset(), (long) n * src.dtype().bytes, pointer(array), 0, null, null);
    }

    private static Pointer pointer(Object array) {
        if (array instanceof float[] f) return Pointer.to(f);
        if (array instanceof int[] i) return Pointer.to(i);
        return Pointer.to((byte[]) array);
    }

    @Override public void fill(DeviceBuffer dst, float value) {
        clEnqueueFillBuffer(queue, mem(dst), Pointer.to(new float[] {value}), Sizeof.cl_float, dst.byteOffset(),
                dst.length() * 4, 0, null, null);
    }

    @Override public void copy(DeviceBuffer dst, DeviceBuffer src) {
        clEnqueueCopyBuffer(queue, mem(src), mem(dst), src.byteOffset(), dst.byteOffset(), dst.length() * dst.dtype().bytes, 0, null, null);
    }

    @Override public void launch(Kernel kernel, int gx, int gy, int gz, int block, Object[] args) {
        if (kernel.version != 1) throw new IllegalArgumentException("opencl: " + kernel + " is a CUDA-only version " + kernel.version);
        cl_kernel k = kernels.computeIfAbsent(kernel, n -> clCreateKernel(program, n.symbol, null));
        int i = 0;
        for (Object a : args) {
            if (a instanceof Opt o) {
                i = setBuffer(k, i, o.buffer() == null ? dummy : mem((DeviceBuffer) o.buffer()), (DeviceBuffer) o.buffer());
                clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[] {o.buffer() == null ? 0 : 1}));
            } else if (a instanceof DeviceBuffer b) {
                i = setBuffer(k, i, mem(b), b);
            } else if (a instanceof Integer v) {
                clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[] {v}));
            } else if (a instanceof Float v) {
                clSetKernelArg(k, i++, Sizeof.cl_float, Pointer.to(new float[] {v}));
            } else {
                throw new IllegalArgumentException("opencl: " + kernel + " argument " + a + " (no portable kernel takes a 64-bit value)");
            }
        }
        int dims = gy == 1 && gz == 1 ? 1 : 3; // every portable kernel is 1-D
        clEnqueueNDRangeKernel(queue, k, dims, null, new long[] {(long) gx * block, gy, gz}, new long[] {block, 1, 1}, 0, null, null);
    }

    private static int setBuffer(cl_kernel k, int i, cl_mem mem, DeviceBuffer b) {
        long off = b == null ? 0 : b.offset();
        if (b != null && off + b.length() > Integer.MAX_VALUE)
            throw new IllegalArgumentException("opencl: view " + b + " lies beyond 2^31 elements (kernels use int offsets)");
        clSetKernelArg(k, i++, Sizeof.cl_mem, Pointer.to(mem));
        clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[] {(int) off}));
        return i;
    }

    private static cl_mem mem(DeviceBuffer b) { return (cl_mem) b.alloc.handle; }

    @Override public void sync() { clFinish(queue); }

    @Override public void close() {
        clFinish(queue);
        for (cl_kernel k : kernels.values()) clReleaseKernel(k);
        kernels.clear();
        clReleaseMemObject(dummy);
        clReleaseCommandQueue(queue); // the context and program stay: Shared
    }
}
