package asymbp.opencl;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import asymbp.backend.UpdateRule;
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

import java.util.HashMap;
import java.util.Map;

import static org.jocl.CL.*;

/**
 * The OpenCL backend: one in-order queue on one device, the program built from the kernel sources
 * packaged in the jar, one cached cl_kernel per op. The context and the built program are shared by
 * every backend on the same device for the life of the JVM (see {@link Shared}). Every op is one launch; nothing
 * crosses to the host except what the caller downloads. Buffer views pass (cl_mem, element offset)
 * to the kernels (see kernels/common/vendor_cl.h). Not thread-safe: one thread drives a backend.
 */
public final class OpenClBackend implements Backend {

    /** Work-group size of every kernel (WG in the kernel headers). */
    static final int WG = 256;
    /** Square output tile side of the matrix-product kernels (TS in kernels/common/gemm.h). */
    static final int TS = 64;
    /** The wide tile for products with at most TM_WIDE rows (TM_WIDE, TN_WIDE in gemm.h). */
    static final int TM_WIDE = 16, TN_WIDE = 256;
    static final String BUILD_OPTIONS = "-cl-fp32-correctly-rounded-divide-sqrt";

    private final String deviceName;
    private final cl_device_id device;
    private final cl_context context;
    private final cl_command_queue queue;
    private final cl_program program;
    private final Map<String, cl_kernel> kernels = new HashMap<>();
    /** Stands in for absent nullable buffers (their has_ flag is 0, the kernel never reads it). */
    private final ClBuffer dummy;
    /** Set while an {@link OpenClReplay} enqueues a step: applyUpdate then skips once the run has halted. */
    private Buffer guardState;
    private boolean closed;
    /**
     * Linear products through the barrier-free "direct" kernels (CPU devices: pocl runs local-memory
     * tiles several times slower) or the local-memory tiles (GPUs). dx through V stays tiled on both,
     * so V is regenerated once per 64-row tile rather than once per few rows.
     */
    final boolean directProducts;

    /** A view of a cl_mem allocation. */
    static final class ClBuffer extends Buffer {
        final Alloc alloc;

        ClBuffer(Alloc alloc, DType dtype, long offset, long length) {
            super(dtype, offset, length);
            this.alloc = alloc;
        }

        @Override protected Buffer view(long absoluteOffset, long len) {
            return new ClBuffer(alloc, dtype(), absoluteOffset, len);
        }
    }

    static final class Alloc {
        final cl_mem mem;
        final OpenClBackend owner;
        boolean freed;
        Alloc(cl_mem mem, OpenClBackend owner) { this.mem = mem; this.owner = owner; }
    }

    OpenClBackend(ClDevices.Entry entry) throws BackendUnavailableException {
        this(entry, null);
    }

    /** @param direct null: direct products on CPU devices, tiles elsewhere (-Dasymbp.opencl.products=direct|tiled overrides) */
    OpenClBackend(ClDevices.Entry entry, Boolean direct) throws BackendUnavailableException {
        this.device = entry.device();
        this.deviceName = entry.description();
        Shared shared = Shared.of(entry);
        this.context = shared.context;
        this.program = shared.program;
        this.queue = clCreateCommandQueue(context, device, 0, null);   // in order
        this.dummy = (ClBuffer) alloc(DType.F32, 1);
        String forced = System.getProperty("asymbp.opencl.products", "auto");
        if (direct != null) this.directProducts = direct;
        else if (forced.equals("direct") || forced.equals("tiled")) this.directProducts = forced.equals("direct");
        else this.directProducts = (ClDevices.deviceLong(device, CL_DEVICE_TYPE) & CL_DEVICE_TYPE_CPU) != 0;
    }

    /**
     * One context and the engine's program per device, created on first use and kept for the JVM's
     * life: creating contexts after others had been released crashed pocl 3.1 (SIGSEGV, no JVM error
     * file) in about one CI run in ten, and the build costs seconds per backend. Backends own only
     * their queue, kernels and buffers.
     */
    private static final class Shared {
        private static final Map<String, Shared> BY_DEVICE = new HashMap<>();
        final cl_context context;
        final cl_program program;

        private Shared(cl_context context, cl_program program) {
            this.context = context;
            this.program = program;
        }

        static synchronized Shared of(ClDevices.Entry entry) throws BackendUnavailableException {
            String key = entry.device().toString(); // the native handle
            Shared s = BY_DEVICE.get(key);
            if (s != null) return s;
            cl_context_properties props = new cl_context_properties();
            props.addProperty(CL_CONTEXT_PLATFORM, entry.platform());
            cl_context ctx = clCreateContext(props, 1, new cl_device_id[]{entry.device()}, null, null, null);
            try {
                s = new Shared(ctx, build(ctx, entry.device(), entry.description(), KernelSource.program()));
            } catch (BackendUnavailableException | RuntimeException e) {
                clReleaseContext(ctx);
                throw e;
            }
            BY_DEVICE.put(key, s);
            return s;
        }
    }

    /** Builds a program for this device; a failure carries the build log. */
    cl_program build(String source) throws BackendUnavailableException {
        return build(context, device, deviceName, source);
    }

    private static cl_program build(cl_context context, cl_device_id device, String deviceName, String source)
            throws BackendUnavailableException {
        cl_program p = clCreateProgramWithSource(context, 1, new String[]{source}, null, null);
        try {
            clBuildProgram(p, 1, new cl_device_id[]{device}, BUILD_OPTIONS, null, null);
        } catch (CLException e) {
            String log = buildLog(p, device);
            clReleaseProgram(p);
            throw new BackendUnavailableException("opencl: kernel build failed on " + deviceName + " ("
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

    cl_kernel kernel(String name) {
        return kernels.computeIfAbsent(name, n -> clCreateKernel(program, n, null));
    }

    cl_command_queue queue() { return queue; }

    @Override public String name() { return "opencl"; }
    @Override public String deviceName() { return deviceName; }

    // ---------------------------------------------------------------- memory

    @Override
    public Buffer alloc(DType dtype, long length) {
        ensureOpen();
        long bytes = Math.max(1, length) * dtype.bytes;
        cl_mem mem = clCreateBuffer(context, CL_MEM_READ_WRITE, bytes, null, null);
        return new ClBuffer(new Alloc(mem, this), dtype, 0, length);
    }

    @Override
    public void free(Buffer buffer) {
        Alloc a = cl(buffer).alloc;
        // Drain the queue first: no enqueued kernel may still reference the memory (cheap; free is rare).
        if (!a.freed) { a.freed = true; clFinish(queue); clReleaseMemObject(a.mem); }
    }

    @Override public void upload(Buffer dst, float[] src) { write(dst, DType.F32, Pointer.to(src), src.length); }
    @Override public void upload(Buffer dst, int[] src) { write(dst, DType.I32, Pointer.to(src), src.length); }
    @Override public void upload(Buffer dst, byte[] src) { write(dst, DType.U8, Pointer.to(src), src.length); }

    private void write(Buffer dst, DType type, Pointer src, int n) {
        ClBuffer b = checked(dst, type, n);
        if (n == 0) return;
        clEnqueueWriteBuffer(queue, b.alloc.mem, CL_TRUE, b.offset() * type.bytes, (long) n * type.bytes, src, 0, null, null);
    }

    @Override public void download(float[] dst, Buffer src) { read(src, DType.F32, Pointer.to(dst), dst.length); }
    @Override public void download(int[] dst, Buffer src) { read(src, DType.I32, Pointer.to(dst), dst.length); }

    private void read(Buffer src, DType type, Pointer dst, int n) {
        ClBuffer b = checked(src, type, n);
        if (n == 0) return;
        clEnqueueReadBuffer(queue, b.alloc.mem, CL_TRUE, b.offset() * type.bytes, (long) n * type.bytes, dst, 0, null, null);
    }

    private ClBuffer checked(Buffer buf, DType type, int n) {
        ClBuffer b = cl(buf);
        if (b.dtype() != type) throw new IllegalArgumentException("opencl: " + type + " transfer on a " + b.dtype() + " buffer " + b);
        if (n > b.length()) throw new IllegalArgumentException("opencl: transfer of " + n + " elements exceeds the view " + b);
        return b;
    }

    @Override
    public void fill(Buffer dst, float value) {
        ClBuffer b = cl(dst);
        if (b.dtype() != DType.F32) throw new IllegalArgumentException("opencl: fill needs an F32 buffer, got " + b);
        if (b.length() == 0) return;
        clEnqueueFillBuffer(queue, b.alloc.mem, Pointer.to(new float[]{value}), Sizeof.cl_float,
                b.offset() * 4, b.length() * 4, 0, null, null);
    }

    @Override
    public void copy(Buffer dst, Buffer src) {
        ClBuffer d = cl(dst), s = cl(src);
        if (d.dtype() != s.dtype() || d.length() != s.length())
            throw new IllegalArgumentException("opencl: copy between " + s + " and " + d + " (dtype and length must match)");
        if (d.length() == 0) return;
        int bytes = d.dtype().bytes;
        clEnqueueCopyBuffer(queue, s.alloc.mem, d.alloc.mem, s.offset() * bytes, d.offset() * bytes, d.length() * bytes, 0, null, null);
    }

    @Override public void sync() { ensureOpen(); clFinish(queue); }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        clFinish(queue);
        for (cl_kernel k : kernels.values()) clReleaseKernel(k);
        kernels.clear();
        free(dummy);
        if (scratch != null) free(scratch);
        clReleaseCommandQueue(queue); // the context and program stay: Shared
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("opencl: backend already closed");
    }

    private ClBuffer cl(Buffer b) {
        if (!(b instanceof ClBuffer cb) || cb.alloc.owner != this)
            throw new IllegalArgumentException("opencl: buffer " + b + " does not belong to this OpenCL backend");
        if (cb.alloc.freed) throw new IllegalStateException("opencl: buffer " + b + " used after free");
        return cb;
    }

    // ---------------------------------------------------------------- launching

    /**
     * Sets the arguments and enqueues {@code groups} work-groups of {@link #WG}. Each Buffer becomes
     * (cl_mem, int element offset); a {@link Nullable} becomes (cl_mem, offset, int has) with the dummy
     * buffer standing in for null; Integer, Float and Boolean (as int 0/1) pass as scalars.
     */
    void launch(String name, long groups, Object... args) {
        ensureOpen();
        if (groups <= 0) return;
        cl_kernel k = kernel(name);
        int i = 0;
        for (Object a : args) {
            if (a instanceof Nullable n) {
                ClBuffer b = n.buffer == null ? dummy : cl(n.buffer);
                i = setBuffer(k, i, b);
                clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[]{n.buffer == null ? 0 : 1}));
            } else if (a instanceof Buffer b) {
                i = setBuffer(k, i, cl(b));
            } else if (a instanceof Integer v) {
                clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[]{v}));
            } else if (a instanceof Float v) {
                clSetKernelArg(k, i++, Sizeof.cl_float, Pointer.to(new float[]{v}));
            } else if (a instanceof Boolean v) {
                clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[]{v ? 1 : 0}));
            } else {
                throw new IllegalArgumentException("opencl: unsupported kernel argument " + a);
            }
        }
        clEnqueueNDRangeKernel(queue, k, 1, null, new long[]{groups * WG}, new long[]{WG}, 0, null, null);
    }

    private static int setBuffer(cl_kernel k, int i, ClBuffer b) {
        if (b.offset() + b.length() > Integer.MAX_VALUE)
            throw new IllegalArgumentException("opencl: view " + b + " lies beyond 2^31 elements (kernels use int offsets)");
        clSetKernelArg(k, i++, Sizeof.cl_mem, Pointer.to(b.alloc.mem));
        clSetKernelArg(k, i++, Sizeof.cl_int, Pointer.to(new int[]{(int) b.offset()}));
        return i;
    }

    /** A nullable buffer argument: expands to pointer, offset and a has-flag. */
    record Nullable(Buffer buffer) {}

    private static Nullable opt(Buffer b) { return new Nullable(b); }

    private static long ceilDiv(long a, long b) { return (a + b - 1) / b; }

    /** Work-groups of one product, as tiles_for in kernels/common/gemm.h: 16×256 tiles when m ≤ 16, else 64×64. */
    static long tiles(long m, long n) {
        long tm = m <= TM_WIDE ? TM_WIDE : TS, tn = m <= TM_WIDE ? TN_WIDE : TS;
        return ceilDiv(m, tm) * ceilDiv(n, tn);
    }

    /** The nine feedback kernel arguments (kernels/common/philox.h, FB_ARGS). */
    private static Object[] fb(Feedback f) {
        return new Object[]{f.mode().ordinal(), f.scale(), f.p(), f.sigma(), f.halfNormal(),
                (int) f.seed(), (int) (f.seed() >>> 32), f.layer(), f.step()};
    }

    private static Object[] concat(Object[]... parts) {
        int n = 0;
        for (Object[] p : parts) n += p.length;
        Object[] out = new Object[n];
        int i = 0;
        for (Object[] p : parts) { System.arraycopy(p, 0, out, i, p.length); i += p.length; }
        return out;
    }

    // ---------------------------------------------------------------- ops

    @Override
    public void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                                  Buffer meanInvStd, int start, int batch, int features, int plane) {
        launch("gather_standardize", ceilDiv((long) batch * features, WG),
                x, labelsOut, images, labels, indices, meanInvStd, start, batch, features, plane);
    }

    @Override
    public void linearForward(Buffer y, Buffer x, Buffer w, Buffer b, int batch, int in, int out, boolean relu) {
        if (directProducts)
            launch("linear_forward_direct", ceilDiv(ceilDiv(batch, DIRECT_M) * ceilDiv(out, DIRECT_N), WG),
                    y, x, w, opt(b), batch, in, out, relu);
        else
            launch("linear_forward", tiles(batch, out), y, x, w, opt(b), batch, in, out, relu);
    }

    @Override
    public void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer b, ConvShape s, boolean relu) {
        long pixels = (long) s.batch() * s.outH() * s.outW();
        boolean direct = s.outC() <= TM_WIDE && s.weightSize() <= CONV_DX_DIRECT_MAX;
        launch("conv2d_forward", direct ? ceilDiv(pixels, WG) : tiles(s.outC(), pixels),
                y, x, w, opt(b), s.batch(), s.inC(), s.inH(), s.inW(), s.outC(), s.kh(), s.kw(),
                s.stride(), s.pad(), s.outH(), s.outW(), relu, direct);
    }

    @Override
    public void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar,
                                 Buffer x, Buffer gamma, Buffer beta, int batch, int channels, int spatial,
                                 boolean training, float momentum, float eps, boolean relu) {
        Buffer sm = saveMean == null ? dummy : saveMean, si = saveInvStd == null ? dummy : saveInvStd;
        if (training && (saveMean == null || saveInvStd == null))
            throw new IllegalArgumentException("opencl: batchnormForward in training needs saveMean and saveInvStd");
        launch("batchnorm_forward", channels, y, sm, si, runMean, runVar, x, gamma, beta,
                batch, channels, spatial, training, momentum, eps, relu);
    }

    @Override
    public void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                                  Buffer saveMean, Buffer saveInvStd, Buffer gamma, int batch, int channels, int spatial) {
        launch("batchnorm_backward", channels, dx, dgamma, dbeta, dy, opt(y), x, saveMean, saveInvStd, gamma,
                batch, channels, spatial);
    }

    @Override
    public void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k) {
        launch("maxpool_forward", ceilDiv((long) batch * channels * (h / k) * (w / k), WG),
                y, argmax, x, batch, channels, h, w, k);
    }

    @Override
    public void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k) {
        launch("maxpool_backward", ceilDiv((long) batch * channels * h * w, WG), dx, dy, argmax, batch, channels, h, w, k);
    }

    @Override
    public void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes) {
        launch("softmax_cross_entropy", 1, dlogits, stats, logits, labels, batch, classes);
    }

    @Override
    public void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, int batch, int in, int out) {
        if (directProducts) {
            // CPU devices: barrier-free dW, V-in-local-memory dx; the tiled kernel only sums db
            launch("linear_backward_dw_direct", ceilDiv(ceilDiv(out, DIRECT_M) * ceilDiv(in, DIRECT_N), WG),
                    dw, dy, opt(y), x, batch, in, out);
            if (dx != null)
                launch("linear_backward_dx_direct", ceilDiv(in, DX_DIRECT_N) * ceilDiv(batch, WG),
                        concat(new Object[]{dx, dy, opt(y), w}, fb(fb), new Object[]{batch, in, out}));
            if (db != null)
                launch("linear_backward", ceilDiv(out, WG), concat(new Object[]{opt(null), opt(null), opt(db), dy, opt(y), x, w},
                        fb(fb), new Object[]{batch, in, out}));
            return;
        }
        long groups = tiles(out, in) + (dx != null ? tiles(batch, in) : 0) + (db != null ? ceilDiv(out, WG) : 0);
        launch("linear_backward", groups, concat(new Object[]{opt(dx), opt(dw), opt(db), dy, opt(y), x, w},
                fb(fb), new Object[]{batch, in, out}));
    }

    @Override
    public void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, ConvShape s) {
        long k = (long) s.inC() * s.kh() * s.kw(), dwSize = s.outC() * k;
        long r = (long) s.batch() * s.outH() * s.outW();
        int splits = (int) ceilDiv(r, CONV_DW_SPLIT);
        Buffer partial = splits > 1 ? scratch(splits * dwSize) : dummy;
        boolean direct = dwSize <= CONV_DW_DIRECT_MAX;
        boolean dxDirect = s.inC() <= TM_WIDE && dwSize <= CONV_DX_DIRECT_MAX;
        long pixels = (long) s.batch() * s.inH() * s.inW();
        long groups = (direct ? ceilDiv(dwSize, WG) : tiles(s.outC(), k)) * splits
                + (dx == null ? 0 : dxDirect ? ceilDiv(pixels, WG) : tiles(s.inC(), pixels))
                + (db != null ? s.outC() : 0);
        launch("conv2d_backward", groups, concat(new Object[]{opt(dx), dw, opt(db), dy, opt(y), x, w, partial, CONV_DW_SPLIT, direct, dxDirect},
                fb(fb), new Object[]{s.batch(), s.inC(), s.inH(), s.inW(), s.outC(), s.kh(), s.kw(), s.stride(), s.pad(),
                        s.outH(), s.outW()}));
        if (splits > 1)
            launch("conv2d_backward_reduce", ceilDiv(dwSize, WG), dw, partial, (int) dwSize, splits);
    }

    /** Outputs per thread of the direct products (DM×DN in linear_forward.cl, DWM×DWN in linear_backward.cl). */
    static final int DIRECT_M = 4, DIRECT_N = 8;
    /** Columns per group of linear_backward_dx_direct (DXN). */
    static final int DX_DIRECT_N = 8;

    /** Reduction chunk of the convolution weight gradient (split_r in conv2d_backward.cl; a multiple of BLOCK_R). */
    static final int CONV_DW_SPLIT = 4096;
    /** Weight gradients up to this size are summed one output per thread (dw_direct in conv2d_backward.cl). */
    static final long CONV_DW_DIRECT_MAX = 1024;
    /** V of at most this many elements fits the local array Bs (TK·TN_MAX): dx_direct in conv2d_backward.cl. */
    static final long CONV_DX_DIRECT_MAX = 4096;
    private ClBuffer scratch;

    /** A device scratch buffer of at least n floats, grown on demand (in-order queue: reuse is safe). */
    private Buffer scratch(long n) {
        if (scratch == null || scratch.length() < n) {
            if (scratch != null) free(scratch);
            scratch = (ClBuffer) alloc(DType.F32, Math.max(n, 1 << 16));
        }
        return scratch;
    }

    @Override
    public void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule,
                            float lr, float momentum, float weightDecay, boolean firstStep) {
        long n = params.length();
        if (velocity.length() != n || grads.length() != n)
            throw new IllegalArgumentException("opencl: applyUpdate lengths differ: params " + n + ", velocity "
                    + velocity.length() + ", grads " + grads.length());
        if (guardState != null)
            launch("apply_update_guarded", ceilDiv(n, WG), params, velocity, grads, (int) n, rule == UpdateRule.BM ? 1 : 0,
                    lr, momentum, weightDecay, firstStep, guardState);
        else
            launch("apply_update", ceilDiv(n, WG), params, velocity, grads, (int) n, rule == UpdateRule.BM ? 1 : 0,
                    lr, momentum, weightDecay, firstStep);
    }

    /**
     * Steps enqueued back to back with the divergence test on the device ({@link OpenClReplay}): one
     * host read per {@link StepReplay#finish} instead of one per step.
     */
    @Override
    public StepReplay replay(TrainStep step, Buffer stats, int batch, double bound) {
        ensureOpen();
        return new OpenClReplay(this, step, stats, batch, bound);
    }

    /** Called by OpenClReplay around the ops of one step. */
    void guardUpdates(Buffer state) { guardState = state; }
}
