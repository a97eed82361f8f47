package asymbp.cuda;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import asymbp.backend.UpdateRule;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;

import java.util.HashMap;
import java.util.Map;

import static asymbp.cuda.CudaDriver.check;
import static jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT;

/**
 * The CUDA backend: JCuda's driver API, one context (the device's primary context), one blocking
 * stream, and one module of prebuilt kernels (kernels/cuda/asymbp_ops.cu) loaded from the jar: the
 * cubin for the device's architecture when the jar has one, else the PTX, which the driver JIT-compiles.
 *
 * <p>Ops are asynchronous launches on the stream; {@link #sync} and the downloads wait. Buffer views
 * reach the kernels as base pointer + byte offset, so kernels index from 0.
 *
 * <p>{@link #replay} records the Trainer's training step once as a CUDA graph that {@link GraphStep}
 * replays; while capturing, the ops read their step-dependent scalars (batch start, brsf's step,
 * first-step flag, learning rate) from device memory instead of by value. {@code -Dasymbp.cuda.graph=false}
 * runs every step eagerly instead (the portable path, for comparison).
 */
public final class CudaBackend implements Backend {

    /** Module resource base name under kernels/ptx/ in the jar. */
    static final String MODULE = "cuda/asymbp_ops";

    private static final int ELEMENTWISE_THREADS = 256;
    private static final int GEMM_THREADS = 256, TILE = 64, BIG_TILE = 128;
    /**
     * SPEC §3: V is never stored, so by default every backward product regenerates V in its tile load.
     * {@code -Dasymbp.cuda.materializeV=K} (a benchmark option) instead writes V to transient scratch
     * once per product when the tiled product would regenerate each element K or more times.
     */
    private static final int MATERIALIZE_FACTOR = Integer.getInteger("asymbp.cuda.materializeV", Integer.MAX_VALUE);
    private static final int RED_THREADS = 256, BN_COLS = 32;

    private final CUdevice device;
    private final CUcontext context;
    private final CUstream stream;
    private final CUmodule module;
    private final String deviceName;
    private final String moduleSource;
    private final int multiprocessors;
    private final Map<String, CUfunction> functions = new HashMap<>();
    private final Thread owner = Thread.currentThread();
    /** The driver calls the ops make (JCuda here; CudaLaunchAbiTest records them without a GPU). */
    private final Device dev;

    /**
     * The four driver calls on the ops' path: allocate, free, launch, wait. Everything else (copies,
     * memsets, graph capture) calls JCuda directly. A test implementation records the launches and
     * checks each argument list against the compiled kernels' signatures in the PTX.
     */
    interface Device {
        CUdeviceptr alloc(long bytes);
        void free(CUdeviceptr p);
        void launch(String kernel, int gx, int gy, int gz, int block, Object[] args);
        void sync();
    }

    /** The real device: JCuda's driver API on this backend's stream and module. */
    private final class JCudaDevice implements Device {
        @Override public CUdeviceptr alloc(long bytes) {
            CUdeviceptr p = new CUdeviceptr();
            check(JCudaDriver.cuMemAlloc(p, bytes), "cuMemAlloc(" + bytes + " bytes)");
            return p;
        }

        @Override public void free(CUdeviceptr p) { check(JCudaDriver.cuMemFree(p), "cuMemFree"); }

        @Override public void launch(String kernel, int gx, int gy, int gz, int block, Object[] args) {
            Pointer[] params = new Pointer[args.length];
            for (int i = 0; i < args.length; i++) params[i] = param(args[i]);
            check(JCudaDriver.cuLaunchKernel(function(kernel), gx, gy, gz, block, 1, 1, 0, stream,
                    Pointer.to(params), null), "cuLaunchKernel(" + kernel + ")");
        }

        @Override public void sync() {
            check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (an earlier kernel failed)");
        }
    }

    /**
     * Scratch memory, grow-only, one slot per use: split-K partial sums of convolution weight
     * gradients, V(W) of one backward product (feedback_materialize), batch-norm chunk partials.
     */
    private final CudaBuffer[] scratch = new CudaBuffer[3];
    private static final int SCRATCH_CONV = 0, SCRATCH_FEEDBACK = 1, SCRATCH_BN = 2;
    /** Set while a graph capture runs: the device StepScalars the ops read instead of their arguments. */
    private CUdeviceptr captureScalars;
    /** Bumped whenever a scratch buffer is freed: graphs recorded before then hold stale pointers. */
    private long scratchGeneration;
    /** Whether {@link #replay} records CUDA graphs (else the eager default); a test hook besides the property. */
    boolean useGraphs = !"false".equalsIgnoreCase(System.getProperty("asymbp.cuda.graph", "true"));
    private boolean closed;
    /** Test hooks: force a GEMM tile (64 or 128; 0 = by size) and the materialisation threshold. */
    int forceTile;
    int materializeFactor = MATERIALIZE_FACTOR;
    /** Test hook for BN: -1 = split by size, 0 = never split, k > 0 = k chunks per channel. */
    int bnSplit = -1;

    private CudaBackend(CUdevice device, CUcontext context, CUstream stream, CUmodule module, String deviceName,
                        String moduleSource, int multiprocessors, Device dev) {
        this.device = device;
        this.context = context;
        this.stream = stream;
        this.module = module;
        this.deviceName = deviceName;
        this.moduleSource = moduleSource;
        this.multiprocessors = multiprocessors;
        this.dev = dev != null ? dev : new JCudaDevice();
    }

    /** A backend without a GPU whose ops go to {@code dev} (tests of the launch arguments only). */
    static CudaBackend withoutGpu(Device dev, int multiprocessors) {
        return new CudaBackend(null, null, null, null, "no GPU (launches recorded)", "none", multiprocessors, dev);
    }

    /** Opens device {@code index}; every failure is one line. Call only after {@link CudaDriver#probe}. */
    static CudaBackend open(int index) throws BackendUnavailableException {
        CUdevice dev = new CUdevice();
        CUcontext ctx = new CUcontext();
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
            CUmodule mod = new CUmodule();
            String source = loadModule(mod, cc);
            CUstream st = new CUstream();
            check(JCudaDriver.cuStreamCreate(st, 0), "cuStreamCreate");
            int[] sms = new int[1];
            check(JCudaDriver.cuDeviceGetAttribute(sms, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev), "cuDeviceGetAttribute");
            return new CudaBackend(dev, ctx, st, mod, CudaDriver.describe(dev), source, sms[0], null);
        } catch (CudaDriver.CudaError e) {
            if (retained) JCudaDriver.cuDevicePrimaryCtxRelease(dev);
            throw new BackendUnavailableException(e.getMessage(), e);
        } catch (BackendUnavailableException e) {
            if (retained) JCudaDriver.cuDevicePrimaryCtxRelease(dev);
            throw e;
        }
    }

    /**
     * Loads the cubin for the device's architecture if the jar has one (sm_80 also serves 8.x), else
     * the newest PTX not newer than the device. System property {@code asymbp.cuda.ptx=true} forces
     * the PTX path (the GPU check exercises both). Returns what was loaded, for logs.
     */
    private static String loadModule(CUmodule mod, int[] cc) throws BackendUnavailableException {
        boolean forcePtx = Boolean.getBoolean("asymbp.cuda.ptx");
        String cubin = KernelArtifacts.cubinFor(cc[0], cc[1]);
        if (!forcePtx && cubin != null) {
            int rc = JCudaDriver.cuModuleLoadData(mod, KernelArtifacts.read(cubin));
            if (rc == 0) return cubin;
            // A cubin the driver rejects (e.g. too old a driver): fall through to the PTX.
        }
        String ptx = KernelArtifacts.ptxFor(cc[0], cc[1]);
        if (ptx == null) throw new BackendUnavailableException("cuda: no prebuilt PTX for sm_" + cc[0] + cc[1] + " in the jar");
        byte[] text = KernelArtifacts.read(ptx);
        byte[] z = java.util.Arrays.copyOf(text, text.length + 1); // the driver wants a NUL-terminated string
        int rc = JCudaDriver.cuModuleLoadData(mod, z);
        if (rc != 0)
            throw new BackendUnavailableException("cuda: cuModuleLoadData(" + ptx + ") failed: "
                    + jcuda.driver.CUresult.stringFor(rc) + " (driver too old for PTX built by nvcc 13?)");
        return ptx;
    }

    @Override public String name() { return "cuda"; }

    @Override public String deviceName() { return deviceName; }

    /** Which prebuilt artifact the module came from (a cubin or a PTX resource path). */
    public String moduleSource() { return moduleSource; }


    // ------------------------------------------------------------------------------------ memory

    @Override public Buffer alloc(DType dtype, long length) {
        ensureOpen();
        notCapturing("alloc");
        long bytes = Math.max(1, length) * dtype.bytes;
        CUdeviceptr p = dev.alloc(bytes);
        return new CudaBuffer(new CudaBuffer.Allocation(p, bytes), dtype, 0, length);
    }

    @Override public void free(Buffer buffer) {
        ensureOpen();
        notCapturing("free");
        CudaBuffer b = cb(buffer, null, "free");
        if (b.allocation.freed) return;
        sync();
        dev.free(b.allocation.ptr);
        b.allocation.freed = true;
    }

    @Override public void upload(Buffer dst, float[] src) { upload(dst, DType.F32, Pointer.to(src), src.length); }
    @Override public void upload(Buffer dst, int[] src) { upload(dst, DType.I32, Pointer.to(src), src.length); }
    @Override public void upload(Buffer dst, byte[] src) { upload(dst, DType.U8, Pointer.to(src), src.length); }

    private void upload(Buffer dst, DType type, Pointer src, long n) {
        ensureOpen();
        notCapturing("upload");
        CudaBuffer d = cb(dst, type, "upload");
        if (n > d.length())
            throw new IllegalArgumentException("upload: " + n + " elements into a view of " + d.length());
        if (n == 0) return;
        // Synchronous copy: ordered after earlier work on the (blocking) stream, and the Java array
        // may be reused as soon as this returns.
        check(JCudaDriver.cuMemcpyHtoD(d.ptr(), src, n * type.bytes), "cuMemcpyHtoD");
    }

    @Override public void download(float[] dst, Buffer src) { download(Pointer.to(dst), dst.length, src, DType.F32); }
    @Override public void download(int[] dst, Buffer src) { download(Pointer.to(dst), dst.length, src, DType.I32); }

    private void download(Pointer dst, long n, Buffer src, DType type) {
        ensureOpen();
        notCapturing("download");
        CudaBuffer s = cb(src, type, "download");
        if (n > s.length())
            throw new IllegalArgumentException("download: " + n + " elements from a view of " + s.length());
        if (n == 0) return;
        check(JCudaDriver.cuStreamSynchronize(stream), "cuStreamSynchronize (an earlier kernel failed)");
        check(JCudaDriver.cuMemcpyDtoH(dst, s.ptr(), n * type.bytes), "cuMemcpyDtoH");
    }

    @Override public void fill(Buffer dst, float value) {
        ensureOpen();
        CudaBuffer d = cb(dst, DType.F32, "fill");
        if (d.length() == 0) return;
        check(JCudaDriver.cuMemsetD32Async(d.ptr(), Float.floatToRawIntBits(value), d.length(), stream), "cuMemsetD32Async");
    }

    @Override public void copy(Buffer dst, Buffer src) {
        ensureOpen();
        CudaBuffer d = cb(dst, null, "copy"), s = cb(src, dst.dtype(), "copy");
        if (d.length() != s.length())
            throw new IllegalArgumentException("copy: lengths differ (" + d.length() + " vs " + s.length() + ")");
        if (d.length() == 0) return;
        check(JCudaDriver.cuMemcpyDtoDAsync(d.ptr(), s.ptr(), d.length() * d.dtype().bytes, stream), "cuMemcpyDtoDAsync");
    }

    @Override public void sync() {
        ensureOpen();
        notCapturing("sync");
        dev.sync();
    }

    @Override public void close() {
        if (closed) return;
        try {
            JCudaDriver.cuStreamSynchronize(stream);
            for (CudaBuffer b : scratch) if (b != null) JCudaDriver.cuMemFree(b.allocation.ptr);
            JCudaDriver.cuModuleUnload(module);
            JCudaDriver.cuStreamDestroy(stream);
        } finally {
            JCudaDriver.cuDevicePrimaryCtxRelease(device);
            closed = true;
        }
    }

    // ----------------------------------------------------------------------------------- ops

    @Override
    public void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                                  Buffer meanInvStd, int start, int batch, int features, int plane) {
        if (plane < 1 || features % plane != 0)
            throw new IllegalArgumentException("gatherStandardize: features " + features + " is not a multiple of plane " + plane);
        long n = (long) batch * features;
        launch("gather_standardize", blocks(n, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                f32(x, "x"), i32(labelsOut, "labelsOut"), u8(images, "images"), i32(labels, "labels"),
                i32(indices, "indices"), f32(meanInvStd, "meanInvStd"), start, batch, features, plane, dyn());
    }

    @Override
    public void linearForward(Buffer y, Buffer x, Buffer w, Buffer b, int batch, int in, int out, boolean relu) {
        int t = tile(batch, out);
        launch(variant("linear_forward", t), ceil(out, t), ceil(batch, t), 1, GEMM_THREADS,
                f32(y, "y"), f32(x, "x"), f32(w, "w"), f32n(b, "b"), batch, in, out, relu ? 1 : 0);
    }

    @Override
    public void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer b, ConvShape s, boolean relu) {
        long n = (long) s.batch() * s.outH() * s.outW();
        int t = tile(s.outC(), n);
        launch(variant("conv2d_forward", t), ceil(n, t), ceil(s.outC(), t), 1, GEMM_THREADS,
                conv(new Object[] {f32(y, "y"), f32(x, "x"), f32(w, "w"), f32n(b, "b")}, s, relu ? 1 : 0));
    }

    @Override
    public void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar,
                                 Buffer x, Buffer gamma, Buffer beta, int batch, int channels, int spatial,
                                 boolean training, float momentum, float eps, boolean relu) {
        int r = relu ? 1 : 0;
        if (!training) {
            long n = (long) batch * channels * spatial;
            launch("batchnorm_forward_eval", blocks(n, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                    f32(y, "y"), f32(runMean, "runMean"), f32(runVar, "runVar"), f32(x, "x"),
                    f32(gamma, "gamma"), f32(beta, "beta"), batch, channels, spatial, eps, r);
        } else if (bnChunks(batch, channels, spatial) > 1) {
            int[] ck = bnChunking(batch, channels, spatial);
            CudaBuffer part = scratch(SCRATCH_BN, 3L * channels * ck[0], "batchnormForward");
            launch("batchnorm_partial_forward", bnGroups(channels, spatial), ck[0], 1, RED_THREADS,
                    part.ptr(), f32(x, "x"), batch, channels, spatial, ck[0], ck[1]);
            launch("batchnorm_combine_forward", ceil(channels, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                    f32(saveMean, "saveMean"), f32(saveInvStd, "saveInvStd"), f32(runMean, "runMean"), f32(runVar, "runVar"),
                    part.ptr(), channels, ck[0], momentum, eps);
            launch("batchnorm_apply_forward", blocks((long) batch * channels * spatial, ELEMENTWISE_THREADS), 1, 1,
                    ELEMENTWISE_THREADS, f32(y, "y"), f32(x, "x"), f32(saveMean, "saveMean"), f32(saveInvStd, "saveInvStd"),
                    f32(gamma, "gamma"), f32(beta, "beta"), batch, channels, spatial, r);
        } else if (spatial == 1) {
            launch("batchnorm_forward_rows", ceil(channels, BN_COLS), 1, 1, RED_THREADS,
                    f32(y, "y"), f32(saveMean, "saveMean"), f32(saveInvStd, "saveInvStd"), f32(runMean, "runMean"),
                    f32(runVar, "runVar"), f32(x, "x"), f32(gamma, "gamma"), f32(beta, "beta"),
                    batch, channels, momentum, eps, r);
        } else {
            launch("batchnorm_forward_nchw", channels, 1, 1, RED_THREADS,
                    f32(y, "y"), f32(saveMean, "saveMean"), f32(saveInvStd, "saveInvStd"), f32(runMean, "runMean"),
                    f32(runVar, "runVar"), f32(x, "x"), f32(gamma, "gamma"), f32(beta, "beta"),
                    batch, channels, spatial, momentum, eps, r);
        }
    }

    @Override
    public void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                                  Buffer saveMean, Buffer saveInvStd, Buffer gamma, int batch, int channels, int spatial) {
        Object[] common = {f32(dx, "dx"), f32(dgamma, "dgamma"), f32(dbeta, "dbeta"), f32(dy, "dy"), f32n(y, "y"),
                f32(x, "x"), f32(saveMean, "saveMean"), f32(saveInvStd, "saveInvStd"), f32(gamma, "gamma")};
        if (bnChunks(batch, channels, spatial) > 1) {
            int[] ck = bnChunking(batch, channels, spatial);
            CudaBuffer part = scratch(SCRATCH_BN, 3L * channels * ck[0], "batchnormBackward");
            launch("batchnorm_partial_backward", bnGroups(channels, spatial), ck[0], 1, RED_THREADS,
                    part.ptr(), f32(dy, "dy"), f32n(y, "y"), f32(x, "x"), f32(saveMean, "saveMean"),
                    f32(saveInvStd, "saveInvStd"), batch, channels, spatial, ck[0], ck[1]);
            launch("batchnorm_combine_backward", ceil(channels, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                    f32(dgamma, "dgamma"), f32(dbeta, "dbeta"), part.ptr(), channels, ck[0]);
            launch("batchnorm_apply_backward", blocks((long) batch * channels * spatial, ELEMENTWISE_THREADS), 1, 1,
                    ELEMENTWISE_THREADS, f32(dx, "dx"), f32(dy, "dy"), f32n(y, "y"), f32(x, "x"), f32(saveMean, "saveMean"),
                    f32(saveInvStd, "saveInvStd"), f32(gamma, "gamma"), f32(dgamma, "dgamma"), f32(dbeta, "dbeta"),
                    batch, channels, spatial);
        } else if (spatial == 1)
            launch("batchnorm_backward_rows", ceil(channels, BN_COLS), 1, 1, RED_THREADS, concat(common, batch, channels));
        else
            launch("batchnorm_backward_nchw", channels, 1, 1, RED_THREADS, concat(common, batch, channels, spatial));
    }

    @Override
    public void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k) {
        long n = (long) batch * channels * (h / k) * (w / k);
        launch("maxpool_forward", blocks(n, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                f32(y, "y"), i32(argmax, "argmax"), f32(x, "x"), batch, channels, h, w, k);
    }

    @Override
    public void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k) {
        long n = (long) batch * channels * h * w;
        launch("maxpool_backward", blocks(n, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                f32(dx, "dx"), f32(dy, "dy"), i32(argmax, "argmax"), batch, channels, h, w, k);
    }

    @Override
    public void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes) {
        launch("softmax_cross_entropy", 1, 1, 1, RED_THREADS,
                f32(dlogits, "dlogits"), f32(stats, "stats"), f32(logits, "logits"), i32(labels, "labels"), batch, classes);
    }

    @Override
    public void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, int batch, int in, int out) {
        if (dx != null) {
            int t = tile(batch, in);
            // V is the B operand: every row tile of g regenerates all of it.
            Object[] v = feedbackOperand(w, fb, (long) in * out, ceil(batch, t));
            launch(variant("linear_backward_dx", t), ceil(in, t), ceil(batch, t), 1, GEMM_THREADS,
                    concat(new Object[] {f32(dx, "dx"), f32(dy, "dy"), f32n(y, "y"), v[0], batch, in, out}, (Object[]) v[1]));
        }
        int t = tile(out, in);
        launch(variant("linear_backward_dw", t), ceil(in, t), ceil(out, t), 1, GEMM_THREADS,
                f32(dw, "dw"), f32(dy, "dy"), f32n(y, "y"), f32(x, "x"), batch, in, out);
        if (db != null)
            launch("channel_grad_sum", out, 1, 1, RED_THREADS, f32(db, "db"), f32(dy, "dy"), f32n(y, "y"), batch, out, 1);
    }

    @Override
    public void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, ConvShape s) {
        if (dx != null) {
            long nx = (long) s.batch() * s.inH() * s.inW();
            int t = tile(s.inC(), nx);
            // V is the A operand: every column tile of the input gradient regenerates all of it.
            Object[] v = feedbackOperand(w, fb, s.weightSize(), ceil(nx, t));
            launch(variant("conv2d_backward_dx", t), ceil(nx, t), ceil(s.inC(), t), 1, GEMM_THREADS,
                    concat(conv(new Object[] {f32(dx, "dx"), f32(dy, "dy"), f32n(y, "y"), v[0]}, s), (Object[]) v[1]));
        }
        // Weight gradient: K' = batch·outH·outW is long and M×N small, so split K' over grid z into
        // enough blocks to fill the GPU; partial sums are added in fixed order (deterministic). 128-tiles
        // (8×8 per thread, half the operand loads per FMA) once both sides of dW span a whole tile.
        int n = s.inC() * s.kh() * s.kw();
        int t = forceTile != 0 ? forceTile : (s.outC() >= BIG_TILE && n >= BIG_TILE ? BIG_TILE : TILE);
        long kTotal = (long) s.batch() * s.outH() * s.outW();
        int tiles = ceil(s.outC(), t) * ceil(n, t);
        long splits = Math.max(1, Math.min((2L * multiprocessors + tiles - 1) / tiles, (kTotal + 255) / 256));
        int kChunk = (int) ((((kTotal + splits - 1) / splits) + 15) / 16 * 16);
        splits = (kTotal + kChunk - 1) / kChunk;
        // One split: the product writes dW itself (partial slice 0 has dW's layout), no scratch, no reduce.
        CUdeviceptr partial = splits == 1 ? f32(dw, "dw")
                : scratch(SCRATCH_CONV, splits * s.outC() * (long) n, "conv2dBackward").ptr();
        launch(variant("conv2d_backward_dw", t), ceil(n, t), ceil(s.outC(), t), (int) splits, GEMM_THREADS,
                concat(conv(new Object[] {partial, f32(dy, "dy"), f32n(y, "y"), f32(x, "x")}, s), kChunk));
        int dwLen = s.outC() * n;
        if (splits > 1)
            launch("conv2d_backward_dw_reduce", blocks(dwLen, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                    f32(dw, "dw"), partial, dwLen, (int) splits);
        if (db != null)
            launch("channel_grad_sum", s.outC(), 1, 1, RED_THREADS, f32(db, "db"), f32(dy, "dy"), f32n(y, "y"),
                    s.batch(), s.outC(), s.outH() * s.outW());
    }

    @Override
    public void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule,
                            float lr, float momentum, float weightDecay, boolean firstStep) {
        long n = params.length();
        if (velocity.length() != n || grads.length() != n)
            throw new IllegalArgumentException("applyUpdate: params, velocity and grads lengths differ ("
                    + n + ", " + velocity.length() + ", " + grads.length() + ")");
        launch("apply_update", blocks(n, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                f32(params, "params"), f32(velocity, "velocity"), f32(grads, "grads"), n,
                rule == UpdateRule.BM ? 1 : 0, lr, momentum, weightDecay, firstStep ? 1 : 0, dyn());
    }

    // ------------------------------------------------------------------------- graph capture

    /**
     * Records {@code step} (its two halves enqueue ops only: no sync, download, upload, alloc or free)
     * as a CUDA graph that replays with each step's batch start, Philox step, first-step flag and
     * learning rate from a device table, and the divergence test on the device (see {@link GraphStep}).
     * Run at least one step eagerly first so lazily grown scratch memory exists.
     */
    @Override
    public StepReplay replay(TrainStep step, Buffer stats, int batch, double bound) {
        ensureOpen();
        notCapturing("replay");
        if (!useGraphs) return Backend.super.replay(step, stats, batch, bound);
        cb(stats, DType.F32, "stats");
        return GraphStep.capture(this, step, stats, batch, bound, GraphStep.DEFAULT_CAPACITY);
    }

    long scratchGeneration() { return scratchGeneration; }

    CUstream stream() { return stream; }

    /** Called by GraphStep around the capture. */
    void beginCapture(CUdeviceptr currentScalars) { captureScalars = currentScalars; }
    void endCapture() { captureScalars = null; }
    boolean capturing() { return captureScalars != null; }

    /** Launches a kernel of the module; visible to GraphStep for its two bookkeeping kernels. */
    void launch(String kernel, int gx, int gy, int gz, int block, Object... args) {
        ensureOpen();
        if (gx == 0 || gy == 0 || gz == 0) return; // empty problem
        if (gy > 65535 || gz > 65535)
            throw new IllegalArgumentException(kernel + ": grid " + gx + "×" + gy + "×" + gz + " exceeds CUDA's limits");
        dev.launch(kernel, gx, gy, gz, block, args);
    }

    /** A null device pointer argument (absent bias, no fused ReLU, no device step scalars). */
    static final Object NULL_PTR = new Object() {
        @Override public String toString() { return "NULL"; }
    };

    private static Pointer param(Object a) {
        if (a == NULL_PTR) return Pointer.to(new long[] {0L}); // the 64-bit value 0, as the kernel reads it
        if (a instanceof CUdeviceptr p) return Pointer.to(p);
        if (a instanceof Integer i) return Pointer.to(new int[] {i});
        if (a instanceof Float f) return Pointer.to(new float[] {f});
        if (a instanceof Long l) return Pointer.to(new long[] {l});
        throw new IllegalArgumentException("unsupported kernel argument " + a);
    }

    CUfunction function(String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunction f = new CUfunction();
            check(JCudaDriver.cuModuleGetFunction(f, module, n), "cuModuleGetFunction(" + n + ")");
            return f;
        });
    }

    // ------------------------------------------------------------------------------- helpers

    private CudaBuffer scratch(int slot, long length, String op) {
        CudaBuffer b = scratch[slot];
        if (b != null && b.length() >= length) return b;
        if (capturing())
            throw new IllegalStateException("cuda: " + op + " needs more scratch memory during graph capture; "
                    + "run one step eagerly before replay()");
        if (b != null) {
            sync();
            dev.free(b.allocation.ptr);
            scratch[slot] = null;
            scratchGeneration++;
        }
        scratch[slot] = (CudaBuffer) alloc(DType.F32, Math.max(length, 1 << 16));
        return scratch[slot];
    }

    /**
     * The weight operand of a backward product and its feedback arguments: W with fb (V regenerated
     * in the tile loads), or, when the product would regenerate V {@code regenerations} ≥ 4 times, V
     * written once into scratch by feedback_materialize and passed with bp arguments (V = that buffer).
     */
    private Object[] feedbackOperand(Buffer w, Feedback fb, long n, int regenerations) {
        if (fb.mode() == asymbp.backend.FeedbackMode.BP || regenerations < materializeFactor)
            return new Object[] {f32(w, "w"), feedback(fb)};
        CudaBuffer v = scratch(SCRATCH_FEEDBACK, n, "a backward product");
        launch("feedback_materialize", blocks(n, ELEMENTWISE_THREADS), 1, 1, ELEMENTWISE_THREADS,
                concat(new Object[] {v.ptr(), f32(w, "w"), n}, feedback(fb)));
        return new Object[] {v.ptr(), feedback(Feedback.bp())};
    }

    /** Blocks of the one-pass BN kernels: one per channel, or one per 32 channels when spatial is 1. */
    private static int bnGroups(int channels, int spatial) { return spatial == 1 ? ceil(channels, BN_COLS) : channels; }

    /** How many chunks to cut each channel into so BN keeps ~4 blocks per multiprocessor busy; 1 = no split. */
    int bnChunks(int batch, int channels, int spatial) {
        if (bnSplit == 0) return 1;
        int groups = bnGroups(channels, spatial);
        long n = (long) batch * spatial, minChunk = spatial == 1 ? 64 : 2048;
        if (bnSplit > 0) return (int) Math.max(1, Math.min(bnSplit, n));
        long want = (4L * multiprocessors + groups - 1) / groups;
        long chunks = Math.min(want, (n + minChunk - 1) / minChunk);
        return (int) Math.max(1, Math.min(chunks, 65535));
    }

    /** {chunks, chunkLen}: chunkLen in rows (spatial 1) or values of batch·spatial, every chunk non-empty. */
    private int[] bnChunking(int batch, int channels, int spatial) {
        long n = (long) batch * spatial;
        int chunks = bnChunks(batch, channels, spatial);
        int len = (int) ((n + chunks - 1) / chunks);
        return new int[] {(int) ((n + len - 1) / len), len};
    }

    /** 128-tiles once they alone fill every multiprocessor, else 64-tiles (more, smaller blocks). */
    private int tile(long m, long n) {
        if (forceTile != 0) return forceTile;
        return (long) ceil(m, BIG_TILE) * ceil(n, BIG_TILE) >= multiprocessors ? BIG_TILE : TILE;
    }

    private static String variant(String kernel, int tile) { return tile == BIG_TILE ? kernel + "_t128" : kernel; }

    private Object[] feedback(Feedback fb) {
        return new Object[] {fb.mode().ordinal(), fb.scale(), fb.p(), fb.sigma(), fb.halfNormal() ? 1 : 0,
                (int) fb.seed(), (int) (fb.seed() >>> 32), fb.layer(), fb.step(), dyn()};
    }

    private static Object[] conv(Object[] head, ConvShape s, Object... tail) {
        Object[] shape = {s.batch(), s.inC(), s.inH(), s.inW(), s.outC(), s.kh(), s.kw(), s.stride(), s.pad(), s.outH(), s.outW()};
        return concat(concat(head, shape), tail);
    }

    private static Object[] concat(Object[] a, Object... b) {
        Object[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    /** The device StepScalars pointer while capturing, else a null pointer (kernels use their arguments). */
    private Object dyn() { return captureScalars != null ? captureScalars : NULL_PTR; }

    private CUdeviceptr f32(Buffer b, String what) { return cb(b, DType.F32, what).ptr(); }
    private CUdeviceptr i32(Buffer b, String what) { return cb(b, DType.I32, what).ptr(); }
    private CUdeviceptr u8(Buffer b, String what) { return cb(b, DType.U8, what).ptr(); }
    private Object f32n(Buffer b, String what) { return b == null ? NULL_PTR : f32(b, what); }

    private static CudaBuffer cb(Buffer b, DType type, String what) {
        if (b == null) throw new NullPointerException("cuda: buffer '" + what + "' is null");
        if (!(b instanceof CudaBuffer c))
            throw new IllegalArgumentException("cuda: buffer '" + what + "' belongs to another backend (" + b.getClass().getSimpleName() + ")");
        if (type != null && c.dtype() != type)
            throw new IllegalArgumentException("cuda: buffer '" + what + "' is " + c.dtype() + ", expected " + type);
        if (c.allocation.freed) throw new IllegalStateException("cuda: buffer '" + what + "' was freed");
        return c;
    }

    private static int blocks(long n, int threads) {
        long b = (n + threads - 1) / threads;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException("problem of " + n + " elements too large for one launch");
        return (int) b;
    }

    private static int ceil(long n, int tile) { return blocks(n, tile); }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("cuda: backend is closed");
        if (Thread.currentThread() != owner) check(JCudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    }

    private void notCapturing(String what) {
        if (capturing())
            throw new IllegalStateException("cuda: " + what + " is not allowed inside a captured training step (CUDA graph)");
    }
}
