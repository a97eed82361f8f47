package asymbp.cuda;

import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Device;
import asymbp.backend.DeviceBackend;
import asymbp.backend.DeviceBuffer;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.backend.Kernel;
import asymbp.backend.StepReplay;
import asymbp.backend.TrainStep;
import asymbp.backend.UpdateRule;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The CUDA host plans against the kernels they launch, without a GPU: every op in every version (v1
 * pinned, with version 1's direct and tiled products; the tuned versions by size on 132 and on 4
 * multiprocessors, 64/128 tiles pinned, V materialised, BN split or not, rows or NCHW, training or
 * evaluation, with and without bias, ReLU, dx), the graph's bookkeeping and the guarded replay run on a
 * device that records launches. Each launch's argument list, encoded as {@link CudaDevice} encodes it
 * (count, and 64-bit / 32-bit / f32 per position), is checked against the kernel's parameters in its
 * module's prebuilt PTX, its block size against .maxntid, its grid against CUDA's limits. Every kernel of
 * every module must be launched by some plan. A wrong argument list would otherwise first show on a GPU
 * as garbage or CUDA_ERROR_INVALID_VALUE.
 */
class CudaLaunchAbiTest {

    private record Signature(List<String> params, int maxThreads) {}

    private static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)\\s*(\\.maxntid (\\d+), (\\d+), (\\d+))?");
    private static final Pattern PARAM = Pattern.compile("\\.param \\.(\\w+)");

    /** A module's kernels and their parameter classes (b64, b32, f32), from the PTX in the jar. */
    static Map<String, Signature> kernels(String module, int arch) {
        String path = KernelArtifacts.ptxFor(module, arch / 10, arch % 10);
        if (path == null) fail("no PTX of module " + module + " for sm_" + arch);
        String ptx = new String(KernelArtifacts.read(path), StandardCharsets.US_ASCII);
        Map<String, Signature> out = new TreeMap<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            List<String> types = new ArrayList<>();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) {
                String t = p.group(1);
                types.add(t.equals("f32") ? "f32" : t.endsWith("64") ? "b64" : t.endsWith("32") ? "b32" : t);
            }
            int max = m.group(3) == null ? 1024 : Integer.parseInt(m.group(4)) * Integer.parseInt(m.group(5)) * Integer.parseInt(m.group(6));
            out.put(m.group(1), new Signature(types, max));
        }
        return out;
    }

    /** A CUDA device without a GPU: records launches and fails on the first that does not fit its kernel. */
    private static final class Recorder implements Device {
        final Map<String, Map<String, Signature>> modules;
        final Map<String, Integer> launched = new TreeMap<>();
        final List<String> sequence = new ArrayList<>();
        int units = 132;
        long next = 1L << 20;

        Recorder(Map<String, Map<String, Signature>> modules) { this.modules = modules; }

        @Override public String name() { return "cuda"; }
        @Override public String description() { return "no GPU (launches recorded)"; }
        @Override public boolean tuned() { return true; }
        @Override public int units() { return units; }
        @Override public boolean cpu() { return false; }
        @Override public Object alloc(long bytes) { long a = next; next += (bytes + 255) / 256 * 256; return a; }
        @Override public void free(Object handle) {}
        @Override public void upload(DeviceBuffer dst, Object array, int n) {}
        @Override public void download(Object array, int n, DeviceBuffer src) {}
        @Override public void fill(DeviceBuffer dst, float value) {}
        @Override public void copy(DeviceBuffer dst, DeviceBuffer src) {}
        @Override public void sync() {}
        @Override public void close() {}

        @Override public void launch(Kernel k, int gx, int gy, int gz, int block, Object[] args) {
            Signature sig = modules.get(k.module).get(k.symbol);
            if (sig == null) fail("launch of " + k + ", which module " + k.module + " does not have");
            assertEquals(sig.params().size(), args.length, k + ": argument count");
            for (int i = 0; i < args.length; i++)
                assertEquals(sig.params().get(i), CudaDevice.abi(args[i]), k + " argument " + i + " (" + args[i] + ")");
            assertTrue(block >= 1 && block <= sig.maxThreads(), k + ": block of " + block + " threads, kernel allows " + sig.maxThreads());
            assertTrue(gx >= 1 && gy >= 1 && gz >= 1 && gy <= 65535 && gz <= 65535, k + ": grid " + gx + "×" + gy + "×" + gz);
            launched.merge(k.symbol, 1, Integer::sum);
            sequence.add(k.symbol + (gy > 1 || gz > 1 ? "[y " + gy + ", z " + gz + "]" : ""));
        }
    }

    private static void everyOp(DeviceBackend be, boolean firstStep) {
        Buffer big = be.alloc(DType.F32, 1 << 22);
        Buffer ints = be.alloc(DType.I32, 1 << 16);
        Buffer bytes = be.alloc(DType.U8, 1 << 16);
        Buffer a = big.slice(0, 1 << 20), b = big.slice(1 << 20, 1 << 20), c = big.slice(2 << 20, 1 << 20),
                d = big.slice(3 << 20, 1 << 19).slice(3, 1000), e = big.slice((3 << 20) + (1 << 19), 1 << 19);
        Feedback brsf = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 7, 1, 3);
        be.gatherStandardize(a, ints.slice(0, 64), bytes, ints, ints, d, 0, 64, 784, 784);
        // Linear: (batch, in, out) small and large; with and without bias, ReLU, dx; bp and brsf.
        for (int[] s : new int[][] {{64, 784, 100}, {1024, 1024, 512}, {5, 17, 300}}) {
            for (Buffer bias : new Buffer[] {null, d})
                for (boolean relu : new boolean[] {false, true}) be.linearForward(a, b, c, bias, s[0], s[1], s[2], relu);
            for (Feedback fb : new Feedback[] {Feedback.bp(), brsf}) {
                be.linearBackward(a, b, d, c, e, a, b, fb, s[0], s[1], s[2]);
                be.linearBackward(null, b, null, c, null, a, b, fb, s[0], s[1], s[2]);
            }
        }
        // dfa's projection e·B (linear_backward's dx products over a zero W): LeNet's conv2 input, a wide one, a tiny one.
        for (int[] s : new int[][] {{64, 10, 1176}, {1024, 10, 4096}, {5, 3, 17}})
            for (boolean uniform : new boolean[] {false, true})
                be.feedbackProject(a, c, new Feedback(FeedbackMode.FA, 1f, 1f, 0.1f, false, 7, 2, 0, uniform), s[0], s[1], s[2]);
        // Convolutions: LeNet's (few channels, long reduction) and a wider one (tile choice), with and without bias, dx.
        for (ConvShape s : new ConvShape[] {new ConvShape(64, 1, 28, 28, 20, 5, 5, 1, 0), new ConvShape(32, 64, 16, 16, 128, 3, 3, 1, 1)}) {
            be.conv2dForward(a, b, c, d, s, true);
            be.conv2dForward(a, b, c, null, s, false);
            be.conv2dBackward(a, b, d, c, e, a, b, brsf, s);
            be.conv2dBackward(null, b, null, c, null, a, b, Feedback.bp(), s);
        }
        // Batch norm: rows (spatial 1) and NCHW, training and evaluation, with and without ReLU.
        Buffer p = d.slice(0, 128);
        for (int[] s : new int[][] {{128, 96, 1}, {64, 20, 576}}) {
            be.batchnormForward(a, p, p, p, p, b, p, p, s[0], s[1], s[2], true, 0.1f, 1e-5f, true);
            be.batchnormBackward(a, p, p, b, c, e, p, p, p, s[0], s[1], s[2]);
            be.batchnormBackward(a, p, p, b, null, e, p, p, p, s[0], s[1], s[2]);
        }
        be.batchnormForward(a, null, null, p, p, b, p, p, 64, 20, 576, false, 0.1f, 1e-5f, false);
        be.maxpoolForward(a, ints, b, 64, 20, 24, 24, 2);
        be.maxpoolBackward(a, b, ints, 64, 20, 24, 24, 2);
        be.softmaxCrossEntropy(a, d.slice(0, 2), b, ints, 64, 10);
        for (UpdateRule r : UpdateRule.values()) be.applyUpdate(a, b, c, r, 0.1f, 0.9f, 1e-4f, firstStep);
        be.free(big);
        be.free(ints);
        be.free(bytes);
    }

    /** Runs every op with {@code op} pinned to {@code version} (every op file when op is null), restoring the pins. */
    private static void pinned(DeviceBackend be, String op, int version) {
        Map<String, Integer> was = new TreeMap<>();
        for (String m : Kernel.modules())
            if (op == null || op.equals(m)) was.put(m, be.forceVersion(m, Math.min(version, Kernel.maxVersion(m))));
        try {
            everyOp(be, true);
        } finally {
            was.forEach(be::forceVersion);
        }
    }

    /** A small training step over {@code be}. */
    private static TrainStep step(DeviceBackend be, Buffer stats) {
        Buffer x = be.alloc(DType.F32, 64 * 100), w = be.alloc(DType.F32, 100 * 100), y = be.alloc(DType.F32, 64 * 100),
                vel = be.alloc(DType.F32, 100 * 100), dw = be.alloc(DType.F32, 100 * 100), idx = be.alloc(DType.I32, 1000),
                img = be.alloc(DType.U8, 100_000);
        return new TrainStep() {
            @Override public void forwardLoss(int start) {
                be.gatherStandardize(x, idx.slice(0, 64), img, idx, idx, y.slice(0, 2), start, 64, 100, 100);
                be.linearForward(y, x, w, null, 64, 100, 100, false);
                be.softmaxCrossEntropy(y, stats, y, idx, 64, 100);
            }
            @Override public void backwardUpdate(int t, float lr, boolean first) {
                be.linearBackward(x, dw, null, y, null, x, w, new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 5, 0, t), 64, 100, 100);
                be.feedbackProject(x, y.slice(0, 64 * 10), new Feedback(FeedbackMode.FA, 1f, 1f, 0.1f, false, 5, 0, 0, true), 64, 10, 100);
                be.applyUpdate(w, vel, dw, UpdateRule.BM, lr, 0.9f, 0f, first);
            }
        };
    }

    @Test
    void everyLaunchFitsItsKernelAndEveryKernelIsLaunched() throws Exception {
        for (int arch : KernelArtifacts.PTX_ARCHS) {
            Map<String, Map<String, Signature>> modules = new TreeMap<>();
            for (String m : Kernel.modules()) modules.put(m, kernels(m, arch));
            Recorder rec = new Recorder(modules);
            // 132 multiprocessors (an H100) picks 64-tiles for small products; 4 makes every product take 128-tiles.
            for (int sms : new int[] {132, 4}) {
                rec.units = sms;
                try (DeviceBackend be = DeviceBackend.open(rec)) {
                    everyOp(be, false);
                    for (int v = 1; v <= 4; v++) pinned(be, null, v);
                    int was = be.bnChunks(8);
                    pinned(be, "batchnorm_forward", 3);
                    pinned(be, "batchnorm_backward", 3);
                    be.bnChunks(was);
                    boolean direct = be.directProducts(true); // version 1 on a CPU device
                    pinned(be, null, 1);
                    be.directProducts(direct);
                    Buffer stats = be.alloc(DType.F32, 2);
                    // The captured step: bookkeeping kernels around ops that read the device step scalars.
                    try (GraphStep g = GraphStep.uncaptured(be, step(be, stats), stats, 64, 230.0, 1000)) {
                        g.enqueueStep();
                    }
                    // The guarded replay (OpenCL's, and CUDA's without graphs): step_replay's version 1.
                    be.forceVersion("step_replay", 1);
                    try (StepReplay r = be.replay(step(be, stats), stats, 64, 230.0)) {
                        r.plan(new int[] {0, 64}, 0, 0.1f, true);
                        r.launch();
                        r.launch();
                        r.finish();
                    }
                    assertTrue(be.kernelVersions().get("linear_backward").contains("v4"), "versions recorded: " + be.kernelVersions());
                }
            }
            TreeSet<String> never = new TreeSet<>();
            modules.forEach((m, ks) -> ks.keySet().forEach(k -> { if (!rec.launched.containsKey(k)) never.add(m + "/" + k); }));
            System.out.println("[cuda abi] sm_" + arch + ": " + rec.launched.values().stream().mapToInt(Integer::intValue).sum()
                    + " launches of " + rec.launched.size() + " kernels in " + modules.size() + " modules checked against the PTX signatures");
            assertTrue(never.isEmpty(), "kernels that no plan launches (dead code, or a plan that lost a version): " + never);
            for (Kernel k : Kernel.values()) assertTrue(rec.launched.containsKey(k.symbol), k + " never launched");
        }
    }

    /** What a plan launches on an H100-sized device (132 multiprocessors), by the rules the tuned versions were measured with. */
    private static List<String> launches(java.util.function.Consumer<DeviceBackend> ops) throws Exception {
        Map<String, Map<String, Signature>> modules = new TreeMap<>();
        for (String m : Kernel.modules()) modules.put(m, kernels(m, 90));
        Recorder rec = new Recorder(modules);
        try (DeviceBackend be = DeviceBackend.open(rec)) {
            rec.sequence.clear();
            ops.accept(be);
        }
        return rec.sequence;
    }

    @Test
    void tunedVersionsFollowTheSizeRules() throws Exception {
        Feedback brsf = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 7, 1, 3);
        // 64-tiles while 128-tiles would not fill 132 multiprocessors (1×1 tiles), 128-tiles from 16×9 = 144 on.
        assertEquals(List.of("linear_forward_v2"), launches(be -> { Buffer a = be.alloc(DType.F32, 1 << 22);
            be.linearForward(a, a, a, null, 64, 784, 100, true); }));
        assertEquals(List.of("linear_forward_v3[y 16, z 1]"), launches(be -> { Buffer a = be.alloc(DType.F32, 1 << 22);
            be.linearForward(a, a, a, null, 2048, 512, 1152, true); }));
        // Backward: V regenerated in the loads (never materialised by default), dW, db.
        assertEquals(List.of("linear_backward_v2_dx", "linear_backward_v2_dw[y 2, z 1]", "linear_backward_v2_db"), launches(be -> {
            Buffer a = be.alloc(DType.F32, 1 << 22);
            be.linearBackward(a, a, a, a, a, a, a, brsf, 64, 784, 100); }));
        // LeNet's conv1 weight gradient: K' = 64·24·24 split over grid z, summed in order by the reduce.
        List<String> conv = launches(be -> { Buffer a = be.alloc(DType.F32, 1 << 22);
            be.conv2dBackward(null, a, a, a, null, a, a, brsf, new ConvShape(64, 1, 28, 28, 20, 5, 5, 1, 0)); });
        assertTrue(conv.size() == 3 && conv.get(0).matches("conv2d_backward_v2_dw\\[y 1, z \\d+\\]") && conv.get(1).equals("conv2d_backward_v2_reduce")
                && conv.get(2).equals("conv2d_backward_v2_db"), conv.toString());
        // Batch norm: split per channel when one block per channel (or per 32 rows) leaves the GPU idle.
        assertEquals(List.of("batchnorm_forward_v3_partial[y 5, z 1]", "batchnorm_forward_v3_combine", "batchnorm_forward_v3_apply"), launches(be -> {
            Buffer a = be.alloc(DType.F32, 1 << 23), q = be.alloc(DType.F32, 4096);
            be.batchnormForward(a, q, q, q, q, a, q, q, 1024, 4096, 1, true, 0.1f, 1e-5f, true); }));
        assertEquals(List.of("batchnorm_forward_v2_rows"), launches(be -> {
            Buffer a = be.alloc(DType.F32, 1 << 20), q = be.alloc(DType.F32, 512);
            be.batchnormForward(a, q, q, q, q, a, q, q, 64, 500, 1, true, 0.1f, 1e-5f, true); }));
        assertEquals(List.of("batchnorm_backward_v3_partial[y 18, z 1]", "batchnorm_backward_v3_combine", "batchnorm_backward_v3_apply"), launches(be -> {
            Buffer a = be.alloc(DType.F32, 1 << 22), q = be.alloc(DType.F32, 64);
            be.batchnormBackward(a, q, q, a, a, a, q, q, q, 64, 20, 576); }));
        // Maxpool has no tuned version; softmax and the update run theirs.
        assertEquals(List.of("maxpool_forward", "softmax_cross_entropy_v2", "apply_update_v2"), launches(be -> {
            Buffer a = be.alloc(DType.F32, 1 << 20), i = be.alloc(DType.I32, 1 << 16);
            be.maxpoolForward(a, i, a, 4, 4, 8, 8, 2);
            be.softmaxCrossEntropy(a, a.slice(0, 2), a, i, 64, 10);
            be.applyUpdate(a, a, a, UpdateRule.SGD, 0.1f, 0.9f, 0f, false); }));
    }
}
