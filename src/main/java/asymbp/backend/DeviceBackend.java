package asymbp.backend;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

import static asymbp.backend.Kernel.*;

/**
 * The twelve ops' launch plans, written once over a {@link Device} (CUDA or OpenCL): shapes, grids,
 * scratch memory, nullable arguments, feedback arguments and which version of each kernel runs.
 *
 * <p>Versions. OpenCL runs version 1 (the portable bodies; on CPU devices their barrier-free "direct"
 * products). CUDA runs the tuned versions chosen by size: GEMMs in 64-tiles (v2) or, once 128-tiles alone
 * fill every multiprocessor, 128-tiles (v3); the convolution weight gradient split over K; batch norm
 * split into chunks per channel (v3) when one block per channel would leave the GPU idle; V written once
 * per backward product (v4) only when the device's {@link Device#materializeFactor} says so (CUDA:
 * {@code -Dasymbp.cuda.materializeV=K}; docs/spec.md §3 keeps V unstored by default). Settings of one API
 * (products, own replays, that factor) come from the {@link Device}, which reads its API's properties. {@code -Dasymbp.kernels=N} pins every op to min(N, its newest version) and
 * {@code -Dasymbp.kernels.<op>=N} pins one op; {@link #forceVersion} does the same from code. The versions
 * that ran are reported by {@link #kernelVersions}.
 *
 * <p>Replays: the device's own ({@link Device#replay}: a CUDA graph) when it offers one, else every step
 * enqueued with the divergence test on the device ({@link GuardedReplay}). Not thread-safe.
 */
public final class DeviceBackend implements Backend {

    /** Threads per block of every kernel (WG in kernels/). */
    public static final int WG = 256;
    private static final int TILE = 64, BIG_TILE = 128, BN_COLS = 32;
    /** Version 1's geometry, as kernels/common/gemm.h and the headers of the .cl files compute it. */
    private static final int TM_WIDE = 16, TN_WIDE = 256, DIRECT_M = 4, DIRECT_N = 8, DX_DIRECT_N = 8, CONV_DW_SPLIT = 4096;
    private static final long CONV_DW_DIRECT_MAX = 1024, CONV_DX_DIRECT_MAX = 4096;
    private static final int SCRATCH_CONV = 0, SCRATCH_FEEDBACK = 1, SCRATCH_BN = 2;

    private final Device dev;
    private final Map<String, Integer> forced = new HashMap<>();
    private final Map<String, TreeSet<Integer>> versions = new TreeMap<>();
    /** Grow-only scratch: convolution dW partial sums, materialised V, batch-norm chunk partials. */
    private final DeviceBuffer[] scratch = new DeviceBuffer[3];
    private final DeviceBuffer dummy;
    /** Zeros standing in for W in the dfa projection (fa's V does not use W's value); grow-only, not V. */
    private DeviceBuffer zeros;
    private long scratchGeneration;
    private boolean directProducts, graphs, closed;
    private int bnChunks;
    /** While a graph is captured: the device step scalars the tuned kernels read instead of their arguments. */
    private Buffer captureScalars;
    /** While a {@link GuardedReplay} enqueues a step: its halt state, which the update reads. */
    private Buffer guardState;

    private DeviceBackend(Device dev) {
        this.dev = dev;
        // The device's own settings (its API's properties are read there); the kernel pins below hold for every device.
        this.directProducts = dev.directProducts();
        this.graphs = dev.ownReplay();
        String all = System.getProperty("asymbp.kernels");
        for (String op : Kernel.modules()) {
            if (all != null) pin("asymbp.kernels", all, op, true);
            String one = System.getProperty("asymbp.kernels." + op);
            if (one != null) pin("asymbp.kernels." + op, one, op, false);
        }
        this.dummy = (DeviceBuffer) alloc(DType.F32, 1);
    }

    /** The plans over {@code dev}; a bad version property closes the device and is one line. */
    public static DeviceBackend open(Device dev) throws BackendUnavailableException {
        try {
            return new DeviceBackend(dev);
        } catch (RuntimeException e) {
            dev.close();
            throw new BackendUnavailableException(dev.name() + ": " + e.getMessage(), e);
        }
    }

    /** Pins {@code op} from a property; {@code atMost}: min(value, the op's newest version). One line on a bad value. */
    private void pin(String prop, String value, String op, boolean atMost) {
        try {
            int v = Integer.parseInt(value.trim());
            forceVersion(op, atMost ? Math.min(v, newest(op)) : v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("-D" + prop + "=" + value + ": " + (e instanceof NumberFormatException
                    ? "expected a version number" : e.getMessage()));
        }
    }

    private int newest(String op) { return dev.tuned() ? Kernel.maxVersion(op) : 1; }

    @Override public String name() { return dev.name(); }
    @Override public String deviceName() { return dev.description(); }
    @Override public DeviceMemory deviceMemory() { return dev.memory(); }
    public Device device() { return dev; }

    // ------------------------------------------------------------------------- choices and hooks

    /** Pins {@code op}'s version (0: the choice by size again); returns the previous pin. */
    public int forceVersion(String op, int version) {
        if (version < 0 || version > newest(op))
            throw new IllegalArgumentException("kernel version " + version + " of " + op + ": " + name() + " has versions 1.."
                    + newest(op));
        Integer was = version == 0 ? forced.remove(op) : forced.put(op, version);
        return was == null ? 0 : was;
    }

    /** Chunks per channel of split batch norm (0: by size); returns the previous value. */
    public int bnChunks(int chunks) { int was = bnChunks; bnChunks = chunks; return was; }

    /** Whether {@link #replay} may use the device's own replay (CUDA graphs); returns the previous value. */
    public boolean graphs(boolean on) { boolean was = graphs; graphs = on; return was; }

    /** Version 1's barrier-free products (CPU devices) or its local-memory tiles; returns the previous value. */
    public boolean directProducts(boolean on) { boolean was = directProducts; directProducts = on; return was; }

    /** Versions launched so far, per op file: "v1", "v2,v3", ... */
    @Override public Map<String, String> kernelVersions() {
        Map<String, String> out = new TreeMap<>();
        versions.forEach((op, vs) -> {
            List<String> s = new ArrayList<>();
            for (int v : vs) s.add("v" + v);
            out.put(op, String.join(",", s));
        });
        return out;
    }

    /** The pinned version of {@code op}, 1 on devices without tuned kernels, else 0 (choose by size). */
    private int pinned(String op) { return dev.tuned() ? forced.getOrDefault(op, 0) : 1; }

    /** Whether a captured step can take its scalars from device memory: every op that reads them is tuned. */
    public boolean capturable() {
        for (String op : List.of("gather_standardize", "linear_backward", "conv2d_backward", "apply_update", "step_replay"))
            if (pinned(op) == 1) return false;
        return true;
    }

    /** 128-tiles once they alone fill every multiprocessor, else 64-tiles (more, smaller blocks). */
    private int tile(int pin, long m, long n) {
        if (pin == 2 || pin == 3) return pin == 3 ? BIG_TILE : TILE;
        return (long) ceil(m, BIG_TILE) * ceil(n, BIG_TILE) >= dev.units() ? BIG_TILE : TILE;
    }

    // ------------------------------------------------------------------------------------ memory

    @Override public Buffer alloc(DType dtype, long length) {
        ensureOpen();
        notCapturing("alloc");
        long bytes = Math.max(1, length) * dtype.bytes;
        return new DeviceBuffer(new DeviceBuffer.Allocation(dev.alloc(bytes), bytes, dev), dtype, 0, length);
    }

    @Override public void free(Buffer buffer) {
        ensureOpen();
        notCapturing("free");
        if (buffer instanceof DeviceBuffer d && d.alloc.freed && d.alloc.owner == dev) return;
        DeviceBuffer b = checked(buffer, "free");
        dev.sync(); // no enqueued kernel may still use the memory (cheap; free is rare)
        dev.free(b.alloc.handle);
        b.alloc.freed = true;
    }

    @Override public void upload(Buffer dst, float[] src) { transfer(dst, DType.F32, src, src.length, true); }
    @Override public void upload(Buffer dst, int[] src) { transfer(dst, DType.I32, src, src.length, true); }
    @Override public void upload(Buffer dst, byte[] src) { transfer(dst, DType.U8, src, src.length, true); }
    @Override public void download(float[] dst, Buffer src) { transfer(src, DType.F32, dst, dst.length, false); }
    @Override public void download(int[] dst, Buffer src) { transfer(src, DType.I32, dst, dst.length, false); }

    private void transfer(Buffer buf, DType type, Object array, int n, boolean up) {
        ensureOpen();
        notCapturing(up ? "upload" : "download");
        DeviceBuffer b = checked(buf, up ? "upload" : "download");
        if (b.dtype() != type) throw new IllegalArgumentException(name() + ": " + type + " transfer on a " + b.dtype() + " buffer " + b);
        if (n > b.length()) throw new IllegalArgumentException(name() + ": transfer of " + n + " elements exceeds the view " + b);
        if (n == 0) return;
        if (up) dev.upload(b, array, n);
        else dev.download(array, n, b);
    }

    @Override public void fill(Buffer dst, float value) {
        ensureOpen();
        DeviceBuffer b = checked(dst, "fill");
        if (b.dtype() != DType.F32) throw new IllegalArgumentException(name() + ": fill needs an F32 buffer, got " + b);
        if (b.length() > 0) dev.fill(b, value);
    }

    @Override public void copy(Buffer dst, Buffer src) {
        ensureOpen();
        DeviceBuffer d = checked(dst, "copy"), s = checked(src, "copy");
        if (d.dtype() != s.dtype() || d.length() != s.length())
            throw new IllegalArgumentException(name() + ": copy between " + s + " and " + d + " (dtype and length must match)");
        if (d.length() > 0) dev.copy(d, s);
    }

    @Override public void sync() {
        ensureOpen();
        notCapturing("sync");
        dev.sync();
    }

    @Override public void close() {
        if (closed) return;
        try {
            dev.sync();
            for (DeviceBuffer b : scratch) if (b != null) dev.free(b.alloc.handle);
            if (zeros != null) dev.free(zeros.alloc.handle);
            dev.free(dummy.alloc.handle);
        } finally {
            closed = true;
            dev.close();
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException(name() + ": backend is closed");
    }

    private void notCapturing(String what) {
        if (captureScalars != null)
            throw new IllegalStateException(name() + ": " + what + " is not allowed inside a captured training step (CUDA graph)");
    }

    private DeviceBuffer checked(Buffer b, String what) {
        if (b == null) throw new NullPointerException(name() + ": buffer for " + what + " is null");
        if (!(b instanceof DeviceBuffer d) || d.alloc.owner != dev)
            throw new IllegalArgumentException(name() + ": buffer " + b + " (" + what + ") belongs to another backend");
        if (d.alloc.freed) throw new IllegalStateException(name() + ": buffer " + b + " (" + what + ") was freed");
        return d;
    }

    // ----------------------------------------------------------------------------------- replay

    @Override public StepReplay replay(TrainStep step, Buffer stats, int batch, double bound) {
        ensureOpen();
        notCapturing("replay");
        checked(stats, "stats");
        StepReplay own = graphs && capturable() ? dev.replay(this, step, stats, batch, bound) : null;
        return own != null ? own : new GuardedReplay(this, step, stats, batch, bound);
    }

    /** Around a captured step: the device StepScalars the tuned kernels then read (null ends the capture). */
    public void capture(Buffer scalars) { captureScalars = scalars; }

    /** Around one step of a {@link GuardedReplay}: the halt state the update then checks (null: none). */
    void guardUpdates(Buffer state) { guardState = state; }

    /** Bumped whenever a scratch buffer is replaced: a graph recorded before holds stale pointers. */
    public long scratchGeneration() { return scratchGeneration; }

    private DeviceBuffer scratch(int slot, long length, String op) {
        DeviceBuffer b = scratch[slot];
        if (b != null && b.length() >= length) return b;
        if (captureScalars != null)
            throw new IllegalStateException(name() + ": " + op + " needs more scratch memory during graph capture; "
                    + "run one step eagerly before replay()");
        if (b != null) {
            free(b);
            scratch[slot] = null;
            scratchGeneration++;
        }
        scratch[slot] = (DeviceBuffer) alloc(DType.F32, Math.max(length, 1 << 16));
        return scratch[slot];
    }

    // ---------------------------------------------------------------------------------- launching

    /** A 1-D launch of {@code groups} blocks of {@link #WG} (every version-1 kernel). */
    private void launch1(Kernel k, long groups, Object... args) {
        if (groups > Integer.MAX_VALUE) throw new IllegalArgumentException(k + ": " + groups + " groups are too many for one launch");
        launch(k, (int) groups, 1, 1, WG, args);
    }

    /**
     * Launches {@code k}; the arguments are Buffers (required), {@link Device.Opt} (nullable), Integer,
     * Float, Long, or Object[] of those, flattened in place.
     */
    public void launch(Kernel k, int gx, int gy, int gz, int block, Object... args) {
        ensureOpen();
        if (gx <= 0 || gy <= 0 || gz <= 0) return; // an empty problem
        if (gy > 65535 || gz > 65535)
            throw new IllegalArgumentException(k + ": grid " + gx + "×" + gy + "×" + gz + " exceeds the launch limits");
        List<Object> a = new ArrayList<>();
        flatten(k, args, a);
        versions.computeIfAbsent(k.module, m -> new TreeSet<>()).add(k.version);
        dev.launch(k, gx, gy, gz, block, a.toArray());
    }

    private void flatten(Kernel k, Object[] args, List<Object> out) {
        for (Object o : args) {
            if (o instanceof Object[] nested) flatten(k, nested, out);
            else if (o instanceof Buffer b) out.add(checked(b, k + " argument " + out.size()));
            else if (o instanceof Device.Opt p) out.add(p.buffer() == null ? p : new Device.Opt(checked(p.buffer(), k.symbol)));
            else if (o instanceof Integer || o instanceof Float || o instanceof Long) out.add(o);
            else throw new IllegalArgumentException(k + ": unsupported kernel argument " + o);
        }
    }

    private static Device.Opt opt(Buffer b) { return new Device.Opt(b); }

    /** The device step scalars while a graph is captured, else absent (kernels use their arguments). */
    private Device.Opt dyn() { return opt(captureScalars); }

    private static int flag(boolean b) { return b ? 1 : 0; }

    private static int ceil(long n, int d) {
        long b = (n + d - 1) / d;
        if (b > Integer.MAX_VALUE) throw new IllegalArgumentException("problem of " + n + " elements too large for one launch");
        return (int) b;
    }

    /** Version 1's work-groups for one product, as tiles_for in kernels/common/gemm.h: 16×256 tiles when m ≤ 16, else 64×64. */
    private static long tiles(long m, long n) {
        return m <= TM_WIDE ? (long) ceil(m, TM_WIDE) * ceil(n, TN_WIDE) : (long) ceil(m, TILE) * ceil(n, TILE);
    }

    /** The feedback arguments (FB_ARGS in kernels/common/philox.h), and the tuned kernels' device step scalars. */
    private Object[] fb(Feedback f, boolean tuned) {
        Object[] a = {f.mode().ordinal(), f.scale(), f.p(), f.sigma(), f.flags(), (int) f.seed(),
                (int) (f.seed() >>> 32), f.layer(), f.step()};
        return tuned ? new Object[] {a, dyn()} : a;
    }

    private static Object[] shape(ConvShape s) {
        return new Object[] {s.batch(), s.inC(), s.inH(), s.inW(), s.outC(), s.kh(), s.kw(), s.stride(), s.pad(), s.outH(), s.outW()};
    }

    // ---------------------------------------------------------------------------------------- ops

    @Override
    public void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                                  Buffer meanInvStd, int start, int batch, int features, int plane) {
        if (plane < 1 || features % plane != 0)
            throw new IllegalArgumentException("gatherStandardize: features " + features + " is not a multiple of plane " + plane);
        boolean v1 = pinned("gather_standardize") == 1;
        launch1(v1 ? GATHER_STANDARDIZE : GATHER_STANDARDIZE_V2, ceil((long) batch * features, WG),
                x, labelsOut, images, labels, indices, meanInvStd, start, batch, features, plane, v1 ? new Object[0] : dyn());
    }

    @Override
    public void linearForward(Buffer y, Buffer x, Buffer w, Buffer b, int batch, int in, int out, boolean relu) {
        int pin = pinned("linear_forward");
        Object[] args = {y, x, w, opt(b), batch, in, out, flag(relu)};
        if (pin == 1 && directProducts)
            launch1(LINEAR_FORWARD_DIRECT, ceil((long) ceil(batch, DIRECT_M) * ceil(out, DIRECT_N), WG), args);
        else if (pin == 1)
            launch1(LINEAR_FORWARD, tiles(batch, out), args);
        else {
            int t = tile(pin, batch, out);
            launch(t == BIG_TILE ? LINEAR_FORWARD_V3 : LINEAR_FORWARD_V2, ceil(out, t), ceil(batch, t), 1, WG, args);
        }
    }

    @Override
    public void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer b, ConvShape s, boolean relu) {
        int pin = pinned("conv2d_forward");
        long pixels = (long) s.batch() * s.outH() * s.outW();
        if (pin == 1) {
            boolean direct = s.outC() <= TM_WIDE && s.weightSize() <= CONV_DX_DIRECT_MAX;
            launch1(CONV2D_FORWARD, direct ? ceil(pixels, WG) : tiles(s.outC(), pixels),
                    y, x, w, opt(b), shape(s), flag(relu), flag(direct));
        } else {
            int t = tile(pin, s.outC(), pixels);
            launch(t == BIG_TILE ? CONV2D_FORWARD_V3 : CONV2D_FORWARD_V2, ceil(pixels, t), ceil(s.outC(), t), 1, WG,
                    y, x, w, opt(b), shape(s), flag(relu));
        }
    }

    @Override
    public void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar,
                                 Buffer x, Buffer gamma, Buffer beta, int batch, int channels, int spatial,
                                 boolean training, float momentum, float eps, boolean relu) {
        if (training && (saveMean == null || saveInvStd == null))
            throw new IllegalArgumentException(name() + ": batchnormForward in training needs saveMean and saveInvStd");
        int pin = pinned("batchnorm_forward"), r = flag(relu);
        long n = (long) batch * channels * spatial;
        int[] ck = pin == 1 || !training ? null : bnChunking(batch, channels, spatial);
        if (pin == 1) {
            launch1(BATCHNORM_FORWARD, channels, y, saveMean == null ? dummy : saveMean, saveInvStd == null ? dummy : saveInvStd,
                    runMean, runVar, x, gamma, beta, batch, channels, spatial, flag(training), momentum, eps, r);
        } else if (!training) {
            launch(BATCHNORM_FORWARD_V2_EVAL, ceil(n, WG), 1, 1, WG, y, runMean, runVar, x, gamma, beta, batch, channels, spatial, eps, r);
        } else if (pin == 3 || pin == 0 && ck[0] > 1) {
            Buffer part = scratch(SCRATCH_BN, 3L * channels * ck[0], "batchnormForward");
            launch(BATCHNORM_FORWARD_V3_PARTIAL, bnGroups(channels, spatial), ck[0], 1, WG, part, x, batch, channels, spatial, ck[0], ck[1]);
            launch(BATCHNORM_FORWARD_V3_COMBINE, ceil(channels, WG), 1, 1, WG,
                    saveMean, saveInvStd, runMean, runVar, part, channels, ck[0], momentum, eps);
            launch(BATCHNORM_FORWARD_V3_APPLY, ceil(n, WG), 1, 1, WG, y, x, saveMean, saveInvStd, gamma, beta, batch, channels, spatial, r);
        } else if (spatial == 1) {
            launch(BATCHNORM_FORWARD_V2_ROWS, ceil(channels, BN_COLS), 1, 1, WG,
                    y, saveMean, saveInvStd, runMean, runVar, x, gamma, beta, batch, channels, momentum, eps, r);
        } else {
            launch(BATCHNORM_FORWARD_V2_NCHW, channels, 1, 1, WG,
                    y, saveMean, saveInvStd, runMean, runVar, x, gamma, beta, batch, channels, spatial, momentum, eps, r);
        }
    }

    @Override
    public void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                                  Buffer saveMean, Buffer saveInvStd, Buffer gamma, int batch, int channels, int spatial) {
        int pin = pinned("batchnorm_backward");
        Object[] common = {dx, dgamma, dbeta, dy, opt(y), x, saveMean, saveInvStd, gamma};
        int[] ck = pin == 1 ? null : bnChunking(batch, channels, spatial);
        if (pin == 1) {
            launch1(BATCHNORM_BACKWARD, channels, common, batch, channels, spatial);
        } else if (pin == 3 || pin == 0 && ck[0] > 1) {
            Buffer part = scratch(SCRATCH_BN, 3L * channels * ck[0], "batchnormBackward");
            launch(BATCHNORM_BACKWARD_V3_PARTIAL, bnGroups(channels, spatial), ck[0], 1, WG,
                    part, dy, opt(y), x, saveMean, saveInvStd, batch, channels, spatial, ck[0], ck[1]);
            launch(BATCHNORM_BACKWARD_V3_COMBINE, ceil(channels, WG), 1, 1, WG, dgamma, dbeta, part, channels, ck[0]);
            launch(BATCHNORM_BACKWARD_V3_APPLY, ceil((long) batch * channels * spatial, WG), 1, 1, WG,
                    dx, dy, opt(y), x, saveMean, saveInvStd, gamma, dgamma, dbeta, batch, channels, spatial);
        } else if (spatial == 1) {
            launch(BATCHNORM_BACKWARD_V2_ROWS, ceil(channels, BN_COLS), 1, 1, WG, common, batch, channels);
        } else {
            launch(BATCHNORM_BACKWARD_V2_NCHW, channels, 1, 1, WG, common, batch, channels, spatial);
        }
    }

    /** Blocks of the one-pass tuned BN kernels: one per channel, or one per 32 channels when spatial is 1. */
    private static int bnGroups(int channels, int spatial) { return spatial == 1 ? ceil(channels, BN_COLS) : channels; }

    /**
     * {chunks, chunkLen} of split batch norm: enough chunks per channel to keep ~4 blocks per
     * multiprocessor busy (or the {@link #bnChunks} hook); chunkLen in rows (spatial 1) or values of batch·spatial.
     */
    private int[] bnChunking(int batch, int channels, int spatial) {
        long n = (long) batch * spatial, minChunk = spatial == 1 ? 64 : 2048;
        long want = (4L * dev.units() + bnGroups(channels, spatial) - 1) / bnGroups(channels, spatial);
        long chunks = bnChunks > 0 ? Math.min(bnChunks, n) : Math.min(want, (n + minChunk - 1) / minChunk);
        chunks = Math.max(1, Math.min(chunks, 65535));
        int len = (int) ((n + chunks - 1) / chunks);
        return new int[] {(int) ((n + len - 1) / len), len};
    }

    @Override
    public void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k) {
        launch1(MAXPOOL_FORWARD, ceil((long) batch * channels * (h / k) * (w / k), WG), y, argmax, x, batch, channels, h, w, k);
    }

    @Override
    public void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k) {
        launch1(MAXPOOL_BACKWARD, ceil((long) batch * channels * h * w, WG), dx, dy, argmax, batch, channels, h, w, k);
    }

    @Override
    public void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes) {
        launch1(pinned("softmax_cross_entropy") == 1 ? SOFTMAX_CROSS_ENTROPY : SOFTMAX_CROSS_ENTROPY_V2, 1,
                dlogits, stats, logits, labels, batch, classes);
    }

    @Override
    public void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, int batch, int in, int out) {
        int pin = pinned("linear_backward");
        if (pin == 1 && directProducts) {
            // CPU devices: barrier-free dW, V-in-local-memory dx; the tiled kernel only sums db
            launch1(LINEAR_BACKWARD_DW_DIRECT, ceil((long) ceil(out, DIRECT_M) * ceil(in, DIRECT_N), WG), dw, dy, opt(y), x, batch, in, out);
            if (dx != null)
                launch1(LINEAR_BACKWARD_DX_DIRECT, (long) ceil(in, DX_DIRECT_N) * ceil(batch, WG), dx, dy, opt(y), w, fb(fb, false), batch, in, out);
            if (db != null)
                launch1(LINEAR_BACKWARD, ceil(out, WG), opt(null), opt(null), opt(db), dy, opt(y), x, w, fb(fb, false), batch, in, out);
        } else if (pin == 1) {
            long groups = tiles(out, in) + (dx != null ? tiles(batch, in) : 0) + (db != null ? ceil(out, WG) : 0);
            launch1(LINEAR_BACKWARD, groups, opt(dx), opt(dw), opt(db), dy, opt(y), x, w, fb(fb, false), batch, in, out);
        } else {
            if (dx != null) {
                int t = tile(pin, batch, in);
                // V is the B operand: every row tile of g regenerates all of it.
                Object[] v = feedbackOperand(LINEAR_BACKWARD_V4_MATERIALIZE, pin, w, fb, (long) in * out, ceil(batch, t));
                launch(t == BIG_TILE ? LINEAR_BACKWARD_V3_DX : LINEAR_BACKWARD_V2_DX, ceil(in, t), ceil(batch, t), 1, WG,
                        dx, dy, opt(y), v[0], batch, in, out, v[1]);
            }
            int t = tile(pin, out, in);
            launch(t == BIG_TILE ? LINEAR_BACKWARD_V3_DW : LINEAR_BACKWARD_V2_DW, ceil(in, t), ceil(out, t), 1, WG,
                    dw, dy, opt(y), x, batch, in, out);
            if (db != null) launch(LINEAR_BACKWARD_V2_DB, out, 1, 1, WG, db, dy, opt(y), batch, out, 1);
        }
    }

    /**
     * dfa's dx = e·B: the input-gradient part of linear_backward with classes as "out", features as "in"
     * and a zero matrix as W (the kernels load W, fa's V ignores its value).
     */
    @Override
    public void feedbackProject(Buffer dx, Buffer e, Feedback fb, int batch, int classes, int features) {
        fb.requireFa("feedbackProject");
        Buffer w = zeros((long) classes * features);
        int pin = pinned("linear_backward");
        if (pin == 1 && directProducts) {
            launch1(LINEAR_BACKWARD_DX_DIRECT, (long) ceil(features, DX_DIRECT_N) * ceil(batch, WG), dx, e, opt(null), w,
                    fb(fb, false), batch, features, classes);
        } else if (pin == 1) {
            launch1(LINEAR_BACKWARD, tiles(batch, features), opt(dx), opt(null), opt(null), e, opt(null), e, w,
                    fb(fb, false), batch, features, classes);
        } else {
            int t = tile(pin, batch, features);
            Object[] v = feedbackOperand(LINEAR_BACKWARD_V4_MATERIALIZE, pin, w, fb, (long) classes * features, ceil(batch, t));
            launch(t == BIG_TILE ? LINEAR_BACKWARD_V3_DX : LINEAR_BACKWARD_V2_DX, ceil(features, t), ceil(batch, t), 1, WG,
                    dx, e, opt(null), v[0], batch, features, classes, v[1]);
        }
    }

    /** A zero-filled buffer of at least {@code n} floats (grown outside graph capture only, as scratch). */
    private Buffer zeros(long n) {
        if (zeros != null && zeros.length() >= n) return zeros.slice(0, n);
        if (captureScalars != null)
            throw new IllegalStateException(name() + ": feedbackProject needs more scratch memory during graph capture; "
                    + "run one step eagerly before replay()");
        if (zeros != null) {
            free(zeros);
            scratchGeneration++;
        }
        zeros = (DeviceBuffer) alloc(DType.F32, Math.max(n, 1 << 12));
        fill(zeros, 0f);
        return zeros.slice(0, n);
    }

    @Override
    public void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, ConvShape s) {
        int pin = pinned("conv2d_backward");
        long k = (long) s.inC() * s.kh() * s.kw(), dwSize = s.outC() * k, pixels = (long) s.batch() * s.inH() * s.inW();
        long r = (long) s.batch() * s.outH() * s.outW();
        if (pin == 1) {
            int splits = ceil(r, CONV_DW_SPLIT);
            Buffer partial = splits > 1 ? scratch(SCRATCH_CONV, splits * dwSize, "conv2dBackward") : dummy;
            boolean direct = dwSize <= CONV_DW_DIRECT_MAX, dxDirect = s.inC() <= TM_WIDE && dwSize <= CONV_DX_DIRECT_MAX;
            long groups = (direct ? ceil(dwSize, WG) : tiles(s.outC(), k)) * splits
                    + (dx == null ? 0 : dxDirect ? ceil(pixels, WG) : tiles(s.inC(), pixels)) + (db != null ? s.outC() : 0);
            launch1(CONV2D_BACKWARD, groups, opt(dx), dw, opt(db), dy, opt(y), x, w, partial, CONV_DW_SPLIT, flag(direct),
                    flag(dxDirect), fb(fb, false), shape(s));
            if (splits > 1) launch1(CONV2D_BACKWARD_REDUCE, ceil(dwSize, WG), dw, partial, (int) dwSize, splits);
            return;
        }
        if (dx != null) {
            int t = tile(pin, s.inC(), pixels);
            // V is the A operand: every column tile of the input gradient regenerates all of it.
            Object[] v = feedbackOperand(CONV2D_BACKWARD_V4_MATERIALIZE, pin, w, fb, s.weightSize(), ceil(pixels, t));
            launch(t == BIG_TILE ? CONV2D_BACKWARD_V3_DX : CONV2D_BACKWARD_V2_DX, ceil(pixels, t), ceil(s.inC(), t), 1, WG,
                    dx, dy, opt(y), v[0], shape(s), v[1]);
        }
        // Weight gradient: K' = batch·outH·outW is long and M×N small, so split K' over grid z into enough
        // blocks to fill the GPU; the partial sums are added in a fixed order (deterministic). 128-tiles
        // once both sides of dW span a whole tile.
        int t = pin == 3 ? BIG_TILE : pin == 2 ? TILE : s.outC() >= BIG_TILE && k >= BIG_TILE ? BIG_TILE : TILE;
        int tiles = ceil(s.outC(), t) * ceil(k, t);
        long splits = Math.max(1, Math.min((2L * dev.units() + tiles - 1) / tiles, (r + 255) / 256));
        int kChunk = (int) ((((r + splits - 1) / splits) + 15) / 16 * 16);
        splits = (r + kChunk - 1) / kChunk;
        // One split: the product writes dW itself (partial slice 0 has dW's layout), no scratch, no reduce.
        Buffer partial = splits == 1 ? dw : scratch(SCRATCH_CONV, splits * dwSize, "conv2dBackward");
        launch(t == BIG_TILE ? CONV2D_BACKWARD_V3_DW : CONV2D_BACKWARD_V2_DW, ceil(k, t), ceil(s.outC(), t), (int) splits, WG,
                partial, dy, opt(y), x, shape(s), kChunk);
        if (splits > 1) launch(CONV2D_BACKWARD_V2_REDUCE, ceil(dwSize, WG), 1, 1, WG, dw, partial, (int) dwSize, (int) splits);
        if (db != null)
            launch(CONV2D_BACKWARD_V2_DB, s.outC(), 1, 1, WG, db, dy, opt(y), s.batch(), s.outC(), s.outH() * s.outW());
    }

    /**
     * The weight operand of a tuned backward product and its feedback arguments: W with fb (V regenerated
     * in the tile loads), or V written once into scratch (version 4, then passed as bp, V = that buffer)
     * when pinned, or when the product would regenerate V at least {@link Device#materializeFactor} times.
     */
    private Object[] feedbackOperand(Kernel materialize, int pin, Buffer w, Feedback fb, long n, int regenerations) {
        if (fb.mode() == FeedbackMode.BP || !(pin == 4 || pin == 0 && regenerations >= dev.materializeFactor()))
            return new Object[] {w, fb(fb, true)};
        Buffer v = scratch(SCRATCH_FEEDBACK, n, "a backward product");
        launch(materialize, ceil(n, WG), 1, 1, WG, v, w, n, fb(fb, true));
        return new Object[] {v, fb(Feedback.bp(), true)};
    }

    @Override
    public void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule,
                            float lr, float momentum, float weightDecay, boolean firstStep) {
        long n = params.length();
        if (velocity.length() != n || grads.length() != n)
            throw new IllegalArgumentException(name() + ": applyUpdate lengths differ: params " + n + ", velocity "
                    + velocity.length() + ", grads " + grads.length());
        Object[] args = {params, velocity, grads, (int) n, rule == UpdateRule.BM ? 1 : 0, lr, momentum, weightDecay, flag(firstStep)};
        if (guardState != null) launch1(APPLY_UPDATE_GUARDED, ceil(n, WG), args, guardState);
        else if (pinned("apply_update") == 1) launch1(APPLY_UPDATE, ceil(n, WG), args);
        else {
            args[3] = n; // the tuned kernel counts in 64 bits
            launch(APPLY_UPDATE_V2, ceil(n, WG), 1, 1, WG, args, dyn());
        }
    }
}
