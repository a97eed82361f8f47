package asymbp.cuda;

import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Buffer;
import asymbp.backend.Device;
import asymbp.backend.DeviceBackend;
import asymbp.backend.DeviceBuffer;
import asymbp.backend.Kernel;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;

import static asymbp.cuda.CudaDriver.check;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;

/**
 * The CUDA {@link Device}: JCuda's driver API, the device's primary context, one blocking stream, and one
 * module per op file ({@code kernels/<op>.cu}) loaded from the jar: the cubin for the device's
 * architecture when the jar has one, else the PTX, which the driver JIT-compiles. A cubin the driver
 * rejects is reported on one line and the PTX loaded instead; {@link #moduleSources} says what each
 * module came from. A buffer argument is one pointer (base + view offset); an absent nullable one is 0.
 *
 * <p>{@code -Dasymbp.cuda.sync=true} synchronises after every launch (outside graph capture), so a
 * kernel that faults is named; otherwise a fault surfaces at the next sync, which names the last launch.
 */
public final class CudaDevice implements Device {

    private final CUdevice device;
    private final CUcontext context;
    private final CUstream stream;
    private final String description;
    private final int units, arch;
    private final Map<String, CUmodule> modules = new TreeMap<>();
    private final Map<String, String> sources = new TreeMap<>();
    private final Map<Kernel, CUfunction> functions = new EnumMap<>(Kernel.class);
    private final Thread owner = Thread.currentThread();
    private final boolean syncEach = Boolean.getBoolean("asymbp.cuda.sync");
    /** -Dasymbp.cuda.graph=false: every step launched op by op, no CUDA graph. */
    private final boolean graphs = !"false".equalsIgnoreCase(System.getProperty("asymbp.cuda.graph", "true"));
    /** -Dasymbp.cuda.materializeV=K: see {@link Device#materializeFactor}. */
    private final int materializeFactor = Integer.getInteger("asymbp.cuda.materializeV", Integer.MAX_VALUE);
    private Kernel last;

    private CudaDevice(CUdevice device, CUcontext context, int arch) {
        this.device = device;
        this.arch = arch;
        this.context = context;
        this.stream = new CUstream();
        check(JCudaDriver.cuStreamCreate(stream, 0), "cuStreamCreate");
        int[] sms = new int[1];
        check(JCudaDriver.cuDeviceGetAttribute(sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device), "cuDeviceGetAttribute");
        this.units = sms[0];
        this.description = CudaDriver.describe(device);
    }

    /** Opens device {@code index}; every failure is one line. Call only after {@link CudaDriver#probe}. */
    static CudaDevice open(int index) throws BackendUnavailableException {
        CUdevice dev = new CUdevice();
        CUcontext ctx = new CUcontext();
        CudaDevice d = null;
        boolean retained = false;
        try {
            check(JCudaDriver.cuDeviceGet(dev, index), "cuDeviceGet");
            int[] cc = CudaDriver.computeCapability(dev);
            if (cc[0] < 8)
                throw new BackendUnavailableException("cuda: device " + index + " is sm_" + cc[0] + cc[1]
                        + "; the prebuilt kernels need compute capability 8.0 or newer");
            check(JCudaDriver.cuDevicePrimaryCtxRetain(ctx, dev), "cuDevicePrimaryCtxRetain");
            retained = true;
            check(JCudaDriver.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
            d = new CudaDevice(dev, ctx, cc[0] * 10 + cc[1]);
            for (String m : Kernel.modules()) d.load(m, cc);
            return d;
        } catch (CudaDriver.CudaError e) {
            if (d != null) d.close();
            else if (retained) JCudaDriver.cuDevicePrimaryCtxRelease(dev);
            throw new BackendUnavailableException(e.getMessage(), e);
        } catch (BackendUnavailableException e) {
            if (d != null) d.close();
            throw e;
        }
    }

    /**
     * Loads one op file's module: its cubin for the device's architecture (sm_80 also serves 8.x) unless
     * {@code -Dasymbp.cuda.ptx=true}, else the newest PTX not newer than the device; resolves its kernels.
     */
    private void load(String module, int[] cc) throws BackendUnavailableException {
        CUmodule mod = new CUmodule();
        String cubin = Boolean.getBoolean("asymbp.cuda.ptx") ? null : KernelArtifacts.cubinFor(module, cc[0], cc[1]);
        String loaded = null, note = "";
        if (cubin != null) {
            int rc = JCudaDriver.cuModuleLoadData(mod, KernelArtifacts.read(cubin));
            if (rc == 0) loaded = cubin;
            else {
                note = " (the driver rejected " + cubin + ": " + CUresult.stringFor(rc) + ")";
                System.err.println("cuda: the driver rejected " + cubin + " (" + CUresult.stringFor(rc) + "); loading the PTX instead");
            }
        }
        if (loaded == null) {
            String ptx = KernelArtifacts.ptxFor(module, cc[0], cc[1]);
            if (ptx == null) throw new BackendUnavailableException("cuda: no prebuilt PTX of " + module + " for sm_" + cc[0] + cc[1] + " in the jar");
            byte[] text = KernelArtifacts.read(ptx);
            int rc = JCudaDriver.cuModuleLoadData(mod, java.util.Arrays.copyOf(text, text.length + 1)); // NUL-terminated
            if (rc != 0)
                throw new BackendUnavailableException("cuda: cuModuleLoadData(" + ptx + ") failed: " + CUresult.stringFor(rc)
                        + " (driver too old for PTX built by nvcc 13?)" + note);
            loaded = ptx + note;
        }
        modules.put(module, mod);
        sources.put(module, loaded);
        for (Kernel k : Kernel.of(module)) {
            CUfunction f = new CUfunction();
            int rc = JCudaDriver.cuModuleGetFunction(f, mod, k.symbol);
            if (rc != 0) throw new BackendUnavailableException("cuda: " + loaded + " lacks kernel " + k + " (" + CUresult.stringFor(rc) + ")");
            functions.put(k, f);
        }
    }

    /** Which prebuilt artifact each module was loaded from (a cubin or a PTX path; a rejected cubin is noted). */
    public Map<String, String> moduleSources() { return java.util.Collections.unmodifiableMap(sources); }

    CUstream stream() { return stream; }

    /** Compute capability as major·10 + minor (90 for sm_90). */
    public int arch() { return arch; }

    @Override public String name() { return "cuda"; }
    @Override public String description() { return description; }
    @Override public boolean tuned() { return true; }
    @Override public int units() { return units; }
    @Override public boolean cpu() { return false; }
    @Override public boolean ownReplay() { return graphs; }
    @Override public int materializeFactor() { return materializeFactor; }

    /** What is free now (cuMemGetInfo); CUDA has no limit on one allocation below that. */
    @Override public asymbp.backend.DeviceMemory memory() {
        current();
        long[] free = new long[1], total = new long[1];
        check(JCudaDriver.cuMemGetInfo(free, total), "cuMemGetInfo");
        return asymbp.backend.DeviceMemory.of(free[0], free[0], "cuMemGetInfo: free of " + total[0] + " bytes");
    }

    @Override public Object alloc(long bytes) {
        current();
        CUdeviceptr p = new CUdeviceptr();
        check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + " bytes)");
        return p;
    }

    @Override public void free(Object handle) { check(JCudaDriver.cuMemFree((CUdeviceptr) handle), "cuMemFree"); }

    /** Synchronous: ordered after earlier work on the (blocking) stream; the array is free on return. */
    @Override public void upload(DeviceBuffer dst, Object array, int n) {
        current();
        check(JCudaDriver.cuMemcpyHtoD(ptr(dst), pointer(array), (long) n * dst.dtype().bytes), "cuMemcpyHtoD");
    }

    @Override public void download(Object array, int n, DeviceBuffer src) {
        sync();
        check(JCudaDriver.cuMemcpyDtoH(pointer(array), ptr(src), (long) n * src.dtype().bytes), "cuMemcpyDtoH");
    }

    private static Pointer pointer(Object array) {
        if (array instanceof float[] f) return Pointer.to(f);
        if (array instanceof int[] i) return Pointer.to(i);
        return Pointer.to((byte[]) array);
    }

    @Override public void fill(DeviceBuffer dst, float value) {
        current();
        check(JCudaDriver.cuMemsetD32Async(ptr(dst), Float.floatToRawIntBits(value), dst.length(), stream), "cuMemsetD32Async");
    }

    @Override public void copy(DeviceBuffer dst, DeviceBuffer src) {
        current();
        check(JCudaDriver.cuMemcpyDtoDAsync(ptr(dst), ptr(src), dst.length() * dst.dtype().bytes, stream), "cuMemcpyDtoDAsync");
    }

    @Override public void launch(Kernel k, int gx, int gy, int gz, int block, Object[] args) {
        current();
        Pointer[] p = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) p[i] = param(args[i]);
        last = k;
        check(JCudaDriver.cuLaunchKernel(functions.get(k), gx, gy, gz, block, 1, 1, 0, stream, Pointer.to(p), null),
                "cuLaunchKernel(" + k + ")");
        if (syncEach && !capturing()) check(JCudaDriver.cuStreamSynchronize(stream), "kernel " + k + " (-Dasymbp.cuda.sync=true)");
    }

    /** The PTX parameter each argument becomes: 64-bit (pointers, Long), 32-bit int, or f32. */
    static String abi(Object a) {
        if (a instanceof DeviceBuffer || a instanceof Opt || a instanceof Long) return "b64";
        if (a instanceof Integer) return "b32";
        if (a instanceof Float) return "f32";
        throw new IllegalArgumentException("cuda: unsupported kernel argument " + a);
    }

    private static Pointer param(Object a) {
        if (a instanceof DeviceBuffer b) return Pointer.to(ptr(b));
        if (a instanceof Opt o) return o.buffer() == null ? Pointer.to(new long[] {0L}) : Pointer.to(ptr(o.buffer()));
        if (a instanceof Integer i) return Pointer.to(new int[] {i});
        return a instanceof Float f ? Pointer.to(new float[] {f}) : Pointer.to(new long[] {(Long) a});
    }

    /** Device pointer to the first element of a view. */
    static CUdeviceptr ptr(Buffer b) {
        DeviceBuffer d = (DeviceBuffer) b;
        CUdeviceptr base = (CUdeviceptr) d.alloc.handle;
        return d.byteOffset() == 0 ? base : base.withByteOffset(d.byteOffset());
    }

    private boolean capturing() {
        int[] status = new int[1];
        check(JCudaDriver.cuStreamIsCapturing(stream, status), "cuStreamIsCapturing");
        return status[0] != 0;
    }

    @Override public void sync() {
        current();
        check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (a kernel failed; the last launched was " + last
                + "; -Dasymbp.cuda.sync=true names the failing one)");
    }

    @Override public StepReplay replay(DeviceBackend be, TrainStep step, Buffer stats, int batch, double bound) {
        return GraphStep.capture(be, this, step, stats, batch, bound, GraphStep.DEFAULT_CAPACITY);
    }

    @Override public void close() {
        try {
            JCudaDriver.cuStreamSynchronize(stream);
            for (CUmodule m : modules.values()) JCudaDriver.cuModuleUnload(m);
            JCudaDriver.cuStreamDestroy(stream);
        } finally {
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
        }
    }

    /** Ops may come from another thread (the Trainer's evaluation); the context follows them. */
    private void current() {
        if (Thread.currentThread() != owner) check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }
}
