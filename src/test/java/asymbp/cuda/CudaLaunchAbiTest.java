package asymbp.cuda;

import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.backend.TrainStep;
import asymbp.backend.UpdateRule;
import jcuda.driver.CUdeviceptr;
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
 * The host side of the CUDA backend against the kernels it launches, without a GPU: every op (each
 * variant: 64/128 tiles, V regenerated or materialised, BN split or not, rows or NCHW, training or
 * evaluation, with and without bias, ReLU, dx) and the graph's bookkeeping runs on a backend whose
 * launches are recorded, and each launch's argument list — count, and pointer / 32-bit int / float
 * per position — is checked against the kernel's parameters in the prebuilt PTX, its block size
 * against the kernel's .maxntid, its grid against CUDA's limits. Every kernel of the module must be
 * launched by some op. A wrong argument list would otherwise first show on a GPU as garbage or
 * CUDA_ERROR_INVALID_VALUE.
 */
class CudaLaunchAbiTest {

    private record Kernel(List<String> params, int maxThreads) {}

    private static final Pattern ENTRY = Pattern.compile("\\.visible \\.entry (\\w+)\\(([^)]*)\\)\\s*(\\.maxntid (\\d+), (\\d+), (\\d+))?");
    private static final Pattern PARAM = Pattern.compile("\\.param \\.(\\w+)");

    /** The module's kernels and their parameter types (u64, u32, s32, f32, ...), from the PTX in the jar. */
    static Map<String, Kernel> kernels(int arch) {
        String ptx = new String(KernelArtifacts.read(KernelArtifacts.ROOT + CudaBackend.MODULE + ".compute_" + arch + ".ptx"),
                StandardCharsets.US_ASCII);
        Map<String, Kernel> out = new TreeMap<>();
        Matcher m = ENTRY.matcher(ptx);
        while (m.find()) {
            List<String> types = new ArrayList<>();
            Matcher p = PARAM.matcher(m.group(2));
            while (p.find()) types.add(p.group(1));
            int max = m.group(3) == null ? 1024 : Integer.parseInt(m.group(4)) * Integer.parseInt(m.group(5)) * Integer.parseInt(m.group(6));
            out.put(m.group(1), new Kernel(types, max));
        }
        return out;
    }

    /** Records launches and fails on the first one whose arguments do not fit the kernel. */
    private static final class Recorder implements CudaBackend.Device {
        final Map<String, Kernel> kernels;
        final Map<String, Integer> launched = new TreeMap<>();
        long nextAddress = 1L << 20;

        Recorder(Map<String, Kernel> kernels) { this.kernels = kernels; }

        @Override public CUdeviceptr alloc(long bytes) {
            // Distinct fake addresses (never dereferenced): a CUdeviceptr is a plain Java object until used.
            CUdeviceptr p = new CUdeviceptr().withByteOffset(nextAddress);
            nextAddress += (bytes + 255) / 256 * 256;
            return p;
        }

        @Override public void free(CUdeviceptr p) {}

        @Override public void sync() {}

        @Override public void launch(String name, int gx, int gy, int gz, int block, Object[] args) {
            Kernel k = kernels.get(name);
            if (k == null) fail("launch of " + name + ", which the module does not have");
            assertEquals(k.params().size(), args.length, name + ": argument count");
            for (int i = 0; i < args.length; i++) {
                String type = k.params().get(i), got = kind(args[i]);
                boolean ok = switch (type) {
                    case "u64", "s64", "b64" -> got.equals("pointer") || got.equals("long");
                    case "u32", "s32", "b32" -> got.equals("int");
                    case "f32" -> got.equals("float");
                    default -> false;
                };
                assertTrue(ok, name + " argument " + i + ": the kernel takes ." + type + ", the host passes a " + got + " (" + args[i] + ")");
            }
            assertTrue(block >= 1 && block <= k.maxThreads(), name + ": block of " + block + " threads, kernel allows " + k.maxThreads());
            assertTrue(gx >= 1 && gy >= 1 && gz >= 1 && gy <= 65535 && gz <= 65535, name + ": grid " + gx + "×" + gy + "×" + gz);
            launched.merge(name, 1, Integer::sum);
        }

        private static String kind(Object a) {
            if (a == CudaBackend.NULL_PTR || a instanceof CUdeviceptr) return "pointer";
            if (a instanceof Integer) return "int";
            if (a instanceof Float) return "float";
            if (a instanceof Long) return "long";
            return a == null ? "null" : a.getClass().getSimpleName();
        }
    }

    private static void everyOp(CudaBackend be, boolean bigTiles) {
        Buffer big = be.alloc(DType.F32, 1 << 22);
        Buffer ints = be.alloc(DType.I32, 1 << 16);
        Buffer bytes = be.alloc(DType.U8, 1 << 16);
        Buffer a = big.slice(0, 1 << 20), b = big.slice(1 << 20, 1 << 20), c = big.slice(2 << 20, 1 << 20),
                d = big.slice(3 << 20, 1 << 19).slice(3, 1000), e = big.slice((3 << 20) + (1 << 19), 1 << 19);
        Feedback brsf = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 7, 1, 3);
        be.gatherStandardize(a, ints.slice(0, 64), bytes, ints, ints, d, 0, 64, 784, 784);
        // Linear: (batch, in, out) small and large; with and without bias, ReLU, dx; bp and brsf.
        for (int[] s : new int[][] {{64, 784, 100}, {1024, 1024, 512}}) {
            for (Buffer bias : new Buffer[] {null, d})
                for (boolean relu : new boolean[] {false, true}) be.linearForward(a, b, c, bias, s[0], s[1], s[2], relu);
            for (Feedback fb : new Feedback[] {Feedback.bp(), brsf}) {
                be.linearBackward(a, b, d, c, e, a, b, fb, s[0], s[1], s[2]);
                be.linearBackward(null, b, null, c, null, a, b, fb, s[0], s[1], s[2]);
            }
        }
        // Convolutions: LeNet's and a wider one (tile choice), with and without bias, dx.
        for (ConvShape s : new ConvShape[] {new ConvShape(64, 1, 28, 28, 20, 5, 5, 1, 0), new ConvShape(32, 64, 16, 16, 128, 3, 3, 1, 1)}) {
            be.conv2dForward(a, b, c, d, s, true);
            be.conv2dForward(a, b, c, null, s, false);
            be.conv2dBackward(a, b, d, c, e, a, b, brsf, s);
            be.conv2dBackward(null, b, null, c, null, a, b, Feedback.bp(), s);
        }
        // Batch norm: rows (spatial 1) and NCHW, split over blocks or not, training and evaluation, with and without ReLU.
        Buffer p = d.slice(0, 128);
        for (int split : new int[] {0, 8}) {
            be.bnSplit = split;
            for (int[] s : new int[][] {{128, 96, 1}, {64, 20, 576}}) {
                be.batchnormForward(a, p, p, p, p, b, p, p, s[0], s[1], s[2], true, 0.1f, 1e-5f, true);
                be.batchnormBackward(a, p, p, b, c, e, p, p, p, s[0], s[1], s[2]);
                be.batchnormBackward(a, p, p, b, null, e, p, p, p, s[0], s[1], s[2]);
            }
        }
        be.bnSplit = -1;
        be.batchnormForward(a, null, null, p, p, b, p, p, 64, 20, 576, false, 0.1f, 1e-5f, false);
        be.maxpoolForward(a, ints, b, 64, 20, 24, 24, 2);
        be.maxpoolBackward(a, b, ints, 64, 20, 24, 24, 2);
        be.softmaxCrossEntropy(a, d.slice(0, 2), b, ints, 64, 10);
        for (UpdateRule r : UpdateRule.values()) be.applyUpdate(a, b, c, r, 0.1f, 0.9f, 1e-4f, bigTiles);
        be.free(big);
        be.free(ints);
        be.free(bytes);
    }

    @Test
    void everyLaunchFitsItsKernelAndEveryKernelIsLaunched() {
        for (int arch : KernelArtifacts.PTX_ARCHS) {
            Map<String, Kernel> ks = kernels(arch);
            assertTrue(ks.size() >= 20, "found only " + ks.size() + " kernels in the sm_" + arch + " PTX");
            Recorder rec = new Recorder(ks);
            // 132 multiprocessors (an H100) picks 64-tiles for small products; 4 makes every product take 128-tiles.
            for (int sms : new int[] {132, 4}) {
                CudaBackend be = CudaBackend.withoutGpu(rec, sms);
                everyOp(be, sms == 4);
                be.materializeFactor = 1; // V written once per backward product (the benchmark option)
                everyOp(be, false);
                // The captured step: bookkeeping kernels around ops that read the device step scalars.
                Buffer stats = be.alloc(DType.F32, 2), x = be.alloc(DType.F32, 64 * 100), w = be.alloc(DType.F32, 100 * 100),
                        y = be.alloc(DType.F32, 64 * 100), vel = be.alloc(DType.F32, 100 * 100), dw = be.alloc(DType.F32, 100 * 100), idx = be.alloc(DType.I32, 1000), img = be.alloc(DType.U8, 100_000);
                TrainStep step = new TrainStep() {
                    @Override public void forwardLoss(int start) {
                        be.gatherStandardize(x, idx.slice(0, 64), img, idx, idx, y.slice(0, 2), start, 64, 100, 100);
                        be.linearForward(y, x, w, null, 64, 100, 100, false);
                        be.softmaxCrossEntropy(y, stats, y, idx, 64, 100);
                    }
                    @Override public void backwardUpdate(int t, float lr, boolean first) {
                        be.linearBackward(x, dw, null, y, null, x, w, new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 5, 0, t), 64, 100, 100);
                        be.applyUpdate(w, vel, dw, UpdateRule.BM, lr, 0.9f, 0f, first);
                    }
                };
                try (GraphStep g = GraphStep.uncaptured(be, step, stats, 64, 230.0, 1000)) {
                    g.enqueueStep();
                }
            }
            TreeSet<String> never = new TreeSet<>(ks.keySet());
            never.removeAll(rec.launched.keySet());
            System.out.println("[cuda abi] sm_" + arch + ": " + rec.launched.values().stream().mapToInt(Integer::intValue).sum()
                    + " launches of " + rec.launched.size() + " kernels checked against the PTX signatures");
            assertTrue(never.isEmpty(), "kernels of the module that no op launches (dead code, or an op that lost a variant): " + never);
            for (String k : GraphStep.BOOKKEEPING) assertTrue(rec.launched.containsKey(k), k + " not launched by the captured step");
        }
    }
}
