package asymbp.backend;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: the device-independent half of {@link DeviceBackend} on a device that only records what it
 * is asked: each op's grid at the sizes where the rules switch (ceilings, tile choice, splits, chunks), the
 * checks on buffers, transfers, versions and launches with their exact messages, scratch reuse, capture
 * restrictions and closing. CudaLaunchAbiTest checks the argument lists against the kernels.
 */
class DeviceBackendMutationTest {

    /** A device that records allocations, transfers and launches ("symbol gx×gy×gz"). */
    static final class Rec implements Device {
        boolean tuned = true, cpu;
        int units = 132, closes, syncs;
        long next = 1;
        StepReplay own;
        Boolean direct;            // the device's product setting (ClDevice: asymbp.opencl.products); null = its default
        boolean ownReplay = true;  // the device's replay setting (CudaDevice: asymbp.cuda.graph)
        final List<String> calls = new ArrayList<>();
        final List<Object[]> args = new ArrayList<>();

        @Override public String name() { return "rec"; }
        @Override public String description() { return "recorder"; }
        @Override public boolean tuned() { return tuned; }
        @Override public int units() { return units; }
        @Override public boolean cpu() { return cpu; }
        @Override public boolean directProducts() { return direct == null ? Device.super.directProducts() : direct; }
        @Override public boolean ownReplay() { return ownReplay; }
        @Override public Object alloc(long bytes) { calls.add("alloc " + bytes); return next++; }
        @Override public void free(Object handle) { calls.add("free " + handle); }
        @Override public void upload(DeviceBuffer dst, Object array, int n) { calls.add("upload " + n); }
        @Override public void download(Object array, int n, DeviceBuffer src) { calls.add("download " + n); }
        @Override public void fill(DeviceBuffer dst, float value) { calls.add("fill " + dst.length() + " " + value); }
        @Override public void copy(DeviceBuffer dst, DeviceBuffer src) { calls.add("copy " + dst.length()); }
        @Override public void sync() { syncs++; calls.add("sync"); }
        @Override public void close() { closes++; }
        @Override public void launch(Kernel k, int gx, int gy, int gz, int block, Object[] a) {
            assertEquals(DeviceBackend.WG, block, k + ": block");
            calls.add(k.symbol + " " + gx + "x" + gy + "x" + gz);
            args.add(a);
        }
        @Override public StepReplay replay(DeviceBackend be, TrainStep step, Buffer stats, int batch, double bound) { return own; }

        List<String> launches() { return calls.stream().filter(c -> !c.startsWith("alloc") && !c.startsWith("free") && !c.equals("sync")).toList(); }

        List<String> allocs() { return calls.stream().filter(c -> c.startsWith("alloc")).toList(); }
    }

    /** The properties the plans read: unset for each test (the expectations assume defaults), restored after. */
    private final java.util.Properties saved = new java.util.Properties();

    private static boolean planProperty(String k) {
        return k.startsWith("asymbp.kernels") || k.equals("asymbp.opencl.products") || k.equals("asymbp.cuda.graph");
    }

    @BeforeEach
    void unsetPlanProperties() {
        for (String k : System.getProperties().stringPropertyNames())
            if (planProperty(k)) saved.setProperty(k, System.clearProperty(k));
    }

    @AfterEach
    void restorePlanProperties() {
        for (String k : System.getProperties().stringPropertyNames()) if (planProperty(k)) System.clearProperty(k);
        saved.forEach((k, v) -> System.setProperty((String) k, (String) v));
    }

    private static final Feedback BRSF = new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 7, 1, 3);

    /** The launches {@code ops} makes on a fresh backend over {@code rec}, with buffers big enough for every case. */
    private static List<String> plan(Rec rec, Consumer<Ops> ops) throws Exception {
        try (DeviceBackend be = DeviceBackend.open(rec)) {
            Ops o = new Ops(be, be.alloc(DType.F32, 1 << 22), be.alloc(DType.I32, 1 << 16), be.alloc(DType.U8, 1 << 16));
            rec.calls.clear();
            ops.accept(o);
            return rec.launches();
        }
    }

    record Ops(DeviceBackend be, Buffer f, Buffer i, Buffer u) {}

    private static Rec tuned(int units) { Rec r = new Rec(); r.units = units; return r; }

    private static Rec v1(boolean cpu) { Rec r = new Rec(); r.tuned = false; r.cpu = cpu; return r; }

    @Test
    void elementwiseGridsAreTheCeilingOverBlocksOf256() throws Exception {
        assertEquals(List.of("gather_standardize 1x1x1", "gather_standardize 2x1x1"), plan(v1(false), o -> {
            o.be.gatherStandardize(o.f, o.i, o.u, o.i, o.i, o.f, 0, 1, 256, 256);
            o.be.gatherStandardize(o.f, o.i, o.u, o.i, o.i, o.f, 0, 1, 257, 1);
        }));
        assertEquals(List.of("gather_standardize_v2 2x1x1"), plan(tuned(132), o ->
                o.be.gatherStandardize(o.f, o.i, o.u, o.i, o.i, o.f, 0, 3, 100, 100)));
        assertEquals(List.of("maxpool_forward 9x1x1", "maxpool_backward 36x1x1", "maxpool_forward 1x1x1"), plan(v1(false), o -> {
            o.be.maxpoolForward(o.f, o.i, o.f, 4, 4, 24, 24, 2);
            o.be.maxpoolBackward(o.f, o.f, o.i, 4, 4, 24, 24, 2);
            o.be.maxpoolForward(o.f, o.i, o.f, 2, 3, 8, 8, 2);
        }));
        assertEquals(List.of("softmax_cross_entropy 1x1x1", "apply_update 2x1x1", "apply_update 1x1x1"), plan(v1(false), o -> {
            o.be.softmaxCrossEntropy(o.f, o.f, o.f, o.i, 64, 10);
            o.be.applyUpdate(o.f.slice(0, 257), o.f.slice(300, 257), o.f.slice(600, 257), UpdateRule.SGD, 0.1f, 0.9f, 0f, true);
            o.be.applyUpdate(o.f.slice(0, 256), o.f.slice(300, 256), o.f.slice(600, 256), UpdateRule.BM, 0.1f, 0.9f, 0f, false);
        }));
        Rec r = tuned(132);
        assertEquals(List.of("softmax_cross_entropy_v2 1x1x1", "apply_update_v2 2x1x1"), plan(r, o -> {
            o.be.softmaxCrossEntropy(o.f, o.f, o.f, o.i, 64, 10);
            o.be.applyUpdate(o.f.slice(0, 257), o.f.slice(300, 257), o.f.slice(600, 257), UpdateRule.BM, 0.1f, 0.9f, 0f, true);
        }));
        Object[] a = r.args.get(1);
        assertEquals(257L, a[3], "the tuned update counts in 64 bits");
        assertEquals(1, a[4], "BM");
        assertEquals(1, a[8], "first step");
    }

    @Test
    void exactlyIntegerMaxGroupsStillLaunch() throws Exception {
        // 256·(2^31 − 1) elements: the largest grid one launch holds
        assertEquals(List.of("maxpool_backward 2147483647x1x1"), plan(v1(false), o -> o.be.maxpoolBackward(o.f, o.f, o.i, Integer.MAX_VALUE, 1, 16, 16, 2)));
    }

    @Test
    void feedbackArgumentsCarryBothHalvesOfTheSeed() throws Exception {
        Rec r = v1(false);
        Feedback fb = new Feedback(FeedbackMode.PSF, 0.5f, 0.25f, 0.125f, true, 0x12345678_9abcdef0L, 3, 11);
        plan(r, o -> o.be.linearBackward(o.f, o.f, null, o.f, null, o.f, o.f, fb, 5, 300, 17));
        assertEquals(List.of(FeedbackMode.PSF.ordinal(), 0.5f, 0.25f, 0.125f, 1, 0x9abcdef0, 0x12345678, 3, 11),
                Arrays.asList(r.args.get(0)).subList(7, 16));
    }

    @Test
    void gatherRefusesAPlaneThatDoesNotDivideTheFeatures() throws Exception {
        for (int plane : new int[] {0, -1, 30}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan(v1(false), o ->
                    o.be.gatherStandardize(o.f, o.i, o.u, o.i, o.i, o.f, 0, 1, 100, plane)));
            assertEquals("gatherStandardize: features 100 is not a multiple of plane " + plane, e.getMessage());
        }
    }

    @Test
    void linearVersionOneDirectOrTiled() throws Exception {
        // direct: ceil(ceil(batch/4)·ceil(out/8) / 256) = ceil(16·257/256)
        assertEquals(List.of("linear_forward_direct 17x1x1"), plan(v1(true), o -> o.be.linearForward(o.f, o.f, o.f, null, 64, 10, 2056, false)));
        // tiled: 16×256 tiles up to 16 rows, else 64×64
        assertEquals(List.of("linear_forward 2x1x1", "linear_forward 5x1x1", "linear_forward 2x1x1"), plan(v1(false), o -> {
            o.be.linearForward(o.f, o.f, o.f, null, 16, 10, 257, false);
            o.be.linearForward(o.f, o.f, o.f, null, 17, 10, 257, false);
            o.be.linearForward(o.f, o.f, o.f, null, 65, 10, 64, false);
        }));
        // backward tiled: dW tiles(out, in) + dx tiles(batch, in) + db ceil(out/256)
        assertEquals(List.of("linear_backward 8x1x1", "linear_backward 5x1x1", "linear_backward 7x1x1"), plan(v1(false), o -> {
            o.be.linearBackward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, BRSF, 5, 300, 17);
            o.be.linearBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, 5, 300, 17);
            o.be.linearBackward(o.f, o.f, null, o.f, null, o.f, o.f, BRSF, 5, 300, 17);
        }));
        // backward direct: dW ceil(ceil(out/4)·ceil(in/8)/256), dx ceil(in/8)·ceil(batch/256), db by the tiled kernel
        assertEquals(List.of("linear_backward_dw_direct 8x1x1", "linear_backward_dx_direct 256x1x1", "linear_backward 1x1x1",
                "linear_backward_dw_direct 8x1x1"), plan(v1(true), o -> {
            o.be.linearBackward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, BRSF, 257, 1024, 64);
            o.be.linearBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, 257, 1024, 64);
        }));
        // a CPU device picks direct products unless told otherwise
        assertEquals(List.of("linear_forward 1x1x1"), plan(v1(true), o -> {
            assertTrue(o.be.directProducts(false));
            assertFalse(o.be.directProducts(false));
            o.be.linearForward(o.f, o.f, o.f, null, 4, 4, 4, false);
        }));
    }

    @Test
    void tunedTilesAre128OnceTheyFillEveryMultiprocessor() throws Exception {
        assertEquals(List.of("linear_forward_v3 2x2x1"), plan(tuned(4), o -> o.be.linearForward(o.f, o.f, o.f, null, 256, 8, 256, true)));
        assertEquals(List.of("linear_forward_v2 4x4x1"), plan(tuned(5), o -> o.be.linearForward(o.f, o.f, o.f, null, 256, 8, 256, true)));
        assertEquals(List.of("linear_forward_v2 2x1x1", "linear_forward_v3 1x1x1", "linear_forward_v2 4x4x1"), plan(tuned(5), o -> {
            o.be.forceVersion("linear_forward", 2);
            o.be.linearForward(o.f, o.f, o.f, null, 64, 8, 100, false);
            o.be.forceVersion("linear_forward", 3);
            o.be.linearForward(o.f, o.f, o.f, null, 64, 8, 100, false);
            assertEquals(3, o.be.forceVersion("linear_forward", 0));
            o.be.linearForward(o.f, o.f, o.f, null, 256, 8, 256, true);
        }));
        // backward: dx over (batch, in), dW over (out, in), db one block per output
        assertEquals(List.of("linear_backward_v2_dx 5x1x1", "linear_backward_v2_dw 5x2x1", "linear_backward_v2_db 100x1x1",
                "linear_backward_v2_dw 5x2x1"), plan(tuned(132), o -> {
            o.be.linearBackward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, BRSF, 64, 300, 100);
            o.be.linearBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, 64, 300, 100);
        }));
        // V materialised once (version 4) unless the feedback is bp
        Rec r = tuned(132);
        assertEquals(List.of("linear_backward_v4_materialize 118x1x1", "linear_backward_v2_dx 5x1x1", "linear_backward_v2_dw 5x2x1",
                "linear_backward_v2_dx 5x1x1", "linear_backward_v2_dw 5x2x1"), plan(r, o -> {
            o.be.forceVersion("linear_backward", 4);
            o.be.linearBackward(o.f, o.f, null, o.f, null, o.f, o.f, BRSF, 64, 300, 100);
            o.be.linearBackward(o.f, o.f, null, o.f, null, o.f, o.f, Feedback.bp(), 64, 300, 100);
        }));
        assertEquals(FeedbackMode.BP.ordinal(), r.args.get(1)[7], "the product reads materialised V as bp");
        assertEquals(FeedbackMode.BRSF.ordinal(), r.args.get(0)[3], "the materialiser reads the run's feedback");
    }

    private static final Feedback FA = new Feedback(FeedbackMode.FA, 1f, 1f, 0.05f, false, 7, 2, 0);

    private static long ceil(long a, long b) { return (a + b - 1) / b; }

    /**
     * feedbackProject (dfa's e·B) runs linear_backward's dx product with classes as "out": version 1 direct
     * (ceil(features/8)·ceil(batch/256) groups) or tiled (16×256 tiles up to 16 rows, else 64×64), the tuned
     * dx kernel at 64- or 128-tiles (128 once they fill every multiprocessor), with V materialised first under
     * version 4 — each after filling its zero stand-in for W (at least 4096 floats).
     */
    @Test
    void feedbackProjectPlansEveryVersion() throws Exception {
        for (int[] z : new int[][] {{5, 10, 300}, {64, 10, 4096}, {257, 10, 1024}, {17, 12, 700}}) {
            int batch = z[0], classes = z[1], features = z[2];
            long n = (long) classes * features;
            String fill = "fill " + Math.max(4096, n) + " 0.0", what = Arrays.toString(z);
            long tiled = batch <= 16 ? ceil(batch, 16) * ceil(features, 256) : ceil(batch, 64) * ceil(features, 64);
            assertEquals(List.of(fill, "linear_backward " + tiled + "x1x1"),
                    plan(v1(false), o -> o.be.feedbackProject(o.f, o.f, FA, batch, classes, features)), what);
            assertEquals(List.of(fill, "linear_backward_dx_direct " + ceil(features, 8) * ceil(batch, 256) + "x1x1"),
                    plan(v1(true), o -> o.be.feedbackProject(o.f, o.f, FA, batch, classes, features)), what);
            for (int units : new int[] {1, 4, 132}) {
                int t = ceil(batch, 128) * ceil(features, 128) >= units ? 128 : 64;
                String dx = (t == 128 ? "linear_backward_v3_dx " : "linear_backward_v2_dx ") + ceil(features, t) + "x" + ceil(batch, t) + "x1";
                assertEquals(List.of(fill, dx), plan(tuned(units), o -> o.be.feedbackProject(o.f, o.f, FA, batch, classes, features)),
                        what + " on " + units + " units");
                Rec r = tuned(units);
                assertEquals(List.of(fill, "linear_backward_v4_materialize " + ceil(n, 256) + "x1x1", dx), plan(r, o -> {
                    o.be.forceVersion("linear_backward", 4);
                    o.be.feedbackProject(o.f, o.f, FA, batch, classes, features);
                }), what + " version 4 on " + units + " units");
                assertEquals(FeedbackMode.FA.ordinal(), r.args.get(0)[3], "the materialiser reads fa's B");
                assertEquals(n, ((Number) r.args.get(0)[2]).longValue(), "B has classes·features elements");
            }
        }
    }

    @Test
    void feedbackProjectsZeroScratchGrowsOnlyWhenTooSmall() throws Exception {
        Rec r = v1(false);
        try (DeviceBackend be = DeviceBackend.open(r)) {
            Buffer f = be.alloc(DType.F32, 1 << 20);
            long gen = be.scratchGeneration();
            r.calls.clear();
            be.feedbackProject(f, f, FA, 2, 10, 409);   // 4090 floats: the 4096 minimum
            be.feedbackProject(f, f, FA, 2, 16, 256);   // exactly 4096: no new scratch
            assertEquals(List.of("alloc 16384", "fill 4096 0.0", "linear_backward 2x1x1", "linear_backward 1x1x1"), r.calls);
            assertEquals(gen, be.scratchGeneration(), "a first scratch replaces nothing");
            r.calls.clear();
            be.feedbackProject(f, f, FA, 2, 10, 410);   // 4100: queued work drains, the old one is freed, a new one zeroed
            assertEquals(List.of("sync", "free"), r.calls.subList(0, 2).stream().map(c -> c.split(" ")[0]).toList());
            assertEquals(List.of("alloc 16400", "fill 4100 0.0", "linear_backward 2x1x1"), r.calls.subList(2, r.calls.size()));
            assertEquals(gen + 1, be.scratchGeneration());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.feedbackProject(f, f, BRSF, 2, 10, 410));
            assertEquals("feedbackProject needs an fa-mode feedback, got brsf", e.getMessage());
            long zeros = r.next - 1;   // the last allocation
            r.calls.clear();
            be.close();
            assertEquals(1, r.calls.stream().filter(c -> c.equals("free " + zeros)).count(), "close frees the zeros once: " + r.calls);
        }
    }

    @Test
    void convolutionVersionOne() throws Exception {
        ConvShape lenet = new ConvShape(2, 1, 28, 28, 16, 5, 5, 1, 0);   // 1152 output pixels, weight 400
        ConvShape wide = new ConvShape(2, 1, 28, 28, 17, 5, 5, 1, 0);
        ConvShape edge = new ConvShape(1, 16, 8, 8, 16, 4, 4, 1, 0);     // weight exactly 4096
        ConvShape over = new ConvShape(1, 17, 8, 8, 16, 4, 4, 1, 0);     // weight 4352
        Rec r = v1(false);
        assertEquals(List.of("conv2d_forward 5x1x1", "conv2d_forward 18x1x1", "conv2d_forward 1x1x1", "conv2d_forward 1x1x1"),
                plan(r, o -> {
                    for (ConvShape s : new ConvShape[] {lenet, wide, edge, over}) o.be.conv2dForward(o.f, o.f, o.f, null, s, true);
                }));
        assertEquals(List.of(1, 0, 1, 0), r.args.stream().map(a -> a[a.length - 1]).toList(), "direct flag");
        // backward: dW split over batch·outH·outW in chunks of 4096, partial sums in scratch, then reduced
        ConvShape split = new ConvShape(8, 1, 28, 28, 20, 5, 5, 1, 0);   // r = 4608: 2 splits; dW 500; 6272 input pixels
        ConvShape one = new ConvShape(64, 1, 8, 8, 4, 1, 1, 1, 0);       // r = 4096: 1 split
        r = v1(false);
        List<String> got = plan(r, o -> {
            o.be.conv2dBackward(o.f, o.f, o.f, o.f, null, o.f, o.f, BRSF, split);
            o.be.conv2dBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, split);
            o.be.conv2dBackward(o.f, o.f, null, o.f, null, o.f, o.f, BRSF, one.withBatch(65));
            o.be.conv2dBackward(o.f, o.f, null, o.f, null, o.f, o.f, BRSF, one);
        });
        assertEquals(List.of("conv2d_backward 49x1x1", "conv2d_backward_reduce 2x1x1", "conv2d_backward 4x1x1",
                "conv2d_backward_reduce 2x1x1", "conv2d_backward 19x1x1", "conv2d_backward_reduce 1x1x1", "conv2d_backward 17x1x1"), got);
        assertEquals(List.of("alloc " + (65536 * 4)), r.calls.stream().filter(c -> c.startsWith("alloc")).toList(),
                "one scratch of at least 2^16 floats, reused");
    }

    @Test
    void convolutionVersionOneDirectLimits() throws Exception {
        // dW direct up to 1024 weights; dx direct up to 16 input channels and 4096 weights
        ConvShape[] shapes = {new ConvShape(2, 1, 8, 8, 1024, 1, 1, 1, 0), new ConvShape(2, 1, 8, 8, 1025, 1, 1, 1, 0),
                new ConvShape(2, 1, 8, 8, 4096, 1, 1, 1, 0), new ConvShape(2, 1, 8, 8, 4097, 1, 1, 1, 0),
                new ConvShape(2, 16, 8, 8, 1, 1, 1, 1, 0), new ConvShape(2, 17, 8, 8, 1, 1, 1, 1, 0)};
        Rec r = v1(false);
        List<String> got = plan(r, o -> { for (ConvShape s : shapes) o.be.conv2dBackward(o.f, o.f, null, o.f, null, o.f, o.f, BRSF, s); });
        assertEquals(List.of("1 1", "0 1", "0 1", "0 0", "1 1", "1 0"), r.args.stream().map(a -> a[9] + " " + a[10]).toList());
        // groups: dW (direct: ceil(dW/256), else tiles(outC, K)) + dx (direct: ceil(pixels/256), else tiles(inC, pixels)), 128 pixels
        assertEquals(List.of("conv2d_backward 5x1x1", "conv2d_backward 18x1x1", "conv2d_backward 65x1x1", "conv2d_backward 66x1x1",
                "conv2d_backward 2x1x1", "conv2d_backward 3x1x1"), got);
        assertEquals(List.of(), r.allocs(), "one split: no scratch");
    }

    @Test
    void convolutionTunedSplitsTheWeightGradientOverGridZ() throws Exception {
        ConvShape lenet = new ConvShape(64, 1, 28, 28, 20, 5, 5, 1, 0);  // r = 36864, dW 20×25
        Rec r = tuned(132);
        assertEquals(List.of("conv2d_forward_v3 288x1x1", "conv2d_backward_v3_dx 392x1x1", "conv2d_backward_v2_dw 1x1x144",
                "conv2d_backward_v2_reduce 2x1x1", "conv2d_backward_v2_db 20x1x1", "conv2d_backward_v2_dw 1x1x1"), plan(r, o -> {
            o.be.conv2dForward(o.f, o.f, o.f, null, lenet, false);
            o.be.conv2dBackward(o.f, o.f, o.f, o.f, null, o.f, o.f, BRSF, lenet);
            o.be.conv2dBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, new ConvShape(1, 1, 8, 8, 4, 1, 1, 1, 0));
        }));
        assertEquals(256, r.args.get(2)[r.args.get(2).length - 1], "K chunk: 36864 / 144 rounded up to 16");
        assertEquals(144, r.args.get(3)[3], "the reduce adds every split");
        assertEquals(576, r.args.get(4)[r.args.get(4).length - 1], "db sums outH·outW per image");
        assertEquals(List.of("alloc " + 4 * 144 * 500), r.allocs(), "partial sums of every split; one split writes dW itself");
        // splits bound by the multiprocessors: 2·4 blocks over 4 tiles of dW = 2 splits of 2048
        r = tuned(4);
        assertEquals(List.of("conv2d_backward_v2_dw 1x4x2", "conv2d_backward_v2_reduce 1x1x1"),
                plan(r, o -> o.be.conv2dBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, new ConvShape(64, 1, 8, 8, 200, 1, 1, 1, 0))));
        assertEquals(2048, r.args.get(0)[r.args.get(0).length - 1]);
        // 17 rows: one split, its K chunk 17 rounded up to 32 (rounding down would need a second split)
        r = tuned(132);
        assertEquals(List.of("conv2d_backward_v2_dw 1x1x1"),
                plan(r, o -> o.be.conv2dBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, new ConvShape(17, 1, 1, 1, 4, 1, 1, 1, 0))));
        assertEquals(32, r.args.get(0)[r.args.get(0).length - 1]);
        // wide layers take 128-tiles for dW once both sides span one; pinned 3 takes them always
        ConvShape wide = new ConvShape(4, 128, 8, 8, 128, 1, 1, 1, 0);
        assertEquals(List.of("conv2d_backward_v3_dw 1x1x1", "conv2d_backward_v2_db 128x1x1"),
                plan(tuned(1), o -> o.be.conv2dBackward(null, o.f, o.f, o.f, null, o.f, o.f, BRSF, wide)));
        assertEquals(List.of("conv2d_backward_v2_dw 2x2x1"),
                plan(tuned(1), o -> o.be.conv2dBackward(null, o.f, null, o.f, null, o.f, o.f, BRSF, new ConvShape(4, 127, 8, 8, 128, 1, 1, 1, 0))));
    }

    @Test
    void batchNormSplitsAChannelOnlyWhenOneBlockPerChannelLeavesTheGpuIdle() throws Exception {
        assertEquals(List.of("batchnorm_forward_v2_rows 16x1x1", "batchnorm_forward_v3_partial 16x2x1", "batchnorm_forward_v3_combine 2x1x1",
                "batchnorm_forward_v3_apply 127x1x1", "batchnorm_forward_v2_nchw 20x1x1", "batchnorm_forward_v2_eval 2x1x1"), plan(tuned(132), o -> {
            o.be.batchnormForward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, o.f, 64, 500, 1, true, 0.1f, 1e-5f, false);
            o.be.batchnormForward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, o.f, 65, 500, 1, true, 0.1f, 1e-5f, false);
            o.be.batchnormForward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, o.f, 2, 20, 100, true, 0.1f, 1e-5f, false);
            o.be.batchnormForward(o.f, null, null, o.f, o.f, o.f, o.f, o.f, 1, 2, 200, false, 0.1f, 1e-5f, false);
        }));
        Rec r = tuned(132);
        assertEquals(List.of("batchnorm_backward_v3_partial 20x18x1", "batchnorm_backward_v3_combine 1x1x1",
                "batchnorm_backward_v3_apply 2880x1x1", "batchnorm_backward_v3_partial 2x5x1", "batchnorm_backward_v3_combine 1x1x1",
                "batchnorm_backward_v3_apply 1x1x1", "batchnorm_backward_v2_rows 1x1x1"), plan(r, o -> {
            o.be.batchnormBackward(o.f, o.f, o.f, o.f, null, o.f, o.f, o.f, o.f, 64, 20, 576);
            assertEquals(0, o.be.bnChunks(8));
            o.be.batchnormBackward(o.f, o.f, o.f, o.f, null, o.f, o.f, o.f, o.f, 5, 40, 1);
            assertEquals(8, o.be.bnChunks(0));
            o.be.batchnormBackward(o.f, o.f, o.f, o.f, null, o.f, o.f, o.f, o.f, 5, 30, 1);
        }));
        assertEquals(List.of(5, 1), List.of(r.args.get(3)[r.args.get(3).length - 2], r.args.get(3)[r.args.get(3).length - 1]),
                "8 chunks asked, only 5 rows: 5 chunks of 1");
        // 3 values per channel and chunk: 3·8192·3 floats, over the 2^16 minimum
        r = tuned(132);
        assertEquals(List.of("batchnorm_forward_v3_partial 256x3x1", "batchnorm_forward_v3_combine 32x1x1", "batchnorm_forward_v3_apply 32768x1x1"),
                plan(r, o -> o.be.batchnormForward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, o.f, 1024, 8192, 1, true, 0.1f, 1e-5f, false)));
        assertEquals(List.of("alloc " + 4 * 3 * 8192 * 3), r.allocs());
        r = tuned(132);
        plan(r, o -> o.be.batchnormBackward(o.f, o.f, o.f, o.f, null, o.f, o.f, o.f, o.f, 1024, 8192, 1));
        assertEquals(List.of("alloc " + 4 * 3 * 8192 * 3), r.allocs());
        // 4·132 = 528 blocks wanted over 16 column groups: exactly 33 chunks (40 would fill 64-row chunks)
        assertEquals("batchnorm_forward_v3_partial 16x33x1", plan(tuned(132), o ->
                o.be.batchnormForward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, o.f, 2560, 500, 1, true, 0.1f, 1e-5f, false)).get(0));
        assertEquals(List.of("batchnorm_forward 7x1x1", "batchnorm_backward 7x1x1"), plan(v1(false), o -> {
            o.be.batchnormForward(o.f, o.f, o.f, o.f, o.f, o.f, o.f, o.f, 2, 7, 3, true, 0.1f, 1e-5f, true);
            o.be.batchnormBackward(o.f, o.f, o.f, o.f, null, o.f, o.f, o.f, o.f, 2, 7, 3);
        }));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan(v1(false), o ->
                o.be.batchnormForward(o.f, o.f, null, o.f, o.f, o.f, o.f, o.f, 2, 7, 3, true, 0.1f, 1e-5f, true)));
        assertEquals("rec: batchnormForward in training needs saveMean and saveInvStd", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> plan(v1(false), o ->
                o.be.batchnormForward(o.f, null, o.f, o.f, o.f, o.f, o.f, o.f, 2, 7, 3, true, 0.1f, 1e-5f, true)));
        assertEquals("rec: batchnormForward in training needs saveMean and saveInvStd", e.getMessage());
    }

    @Test
    void memoryTransfersAndTheirChecks() throws Exception {
        Rec r = new Rec();
        try (DeviceBackend be = DeviceBackend.open(r)) {
            r.calls.clear();
            Buffer f = be.alloc(DType.F32, 10), i = be.alloc(DType.I32, 0), u = be.alloc(DType.U8, 3);
            assertEquals(List.of("alloc 40", "alloc 4", "alloc 3"), r.calls, "bytes, at least 1 element");
            r.calls.clear();
            be.upload(f, new float[10]);
            be.upload(f, new float[0]);
            be.upload(u, new byte[2]);
            be.upload(be.alloc(DType.I32, 2), new int[2]);
            be.download(new float[4], f);
            be.download(new int[0], i);
            be.download(new int[2], be.alloc(DType.I32, 2));
            be.fill(f.slice(2, 3), 2.5f);
            be.fill(f.slice(2, 0), 1f);
            be.copy(f.slice(0, 5), f.slice(5, 5));
            be.copy(f.slice(0, 0), f.slice(5, 0));
            assertEquals(List.of("upload 10", "upload 2", "alloc 8", "upload 2", "download 4", "alloc 8", "download 2", "fill 3 2.5", "copy 5"), r.calls);
            assertEquals("rec: F32 transfer on a I32 buffer I32[0+0]",
                    assertThrows(IllegalArgumentException.class, () -> be.upload(i, new float[0])).getMessage());
            assertEquals("rec: transfer of 11 elements exceeds the view F32[0+10]",
                    assertThrows(IllegalArgumentException.class, () -> be.upload(f, new float[11])).getMessage());
            assertEquals("rec: transfer of 11 elements exceeds the view F32[0+10]",
                    assertThrows(IllegalArgumentException.class, () -> be.download(new float[11], f)).getMessage());
            assertEquals("rec: fill needs an F32 buffer, got U8[0+3]",
                    assertThrows(IllegalArgumentException.class, () -> be.fill(u, 0f)).getMessage());
            assertEquals("rec: copy between F32[5+4] and F32[0+5] (dtype and length must match)",
                    assertThrows(IllegalArgumentException.class, () -> be.copy(f.slice(0, 5), f.slice(5, 4))).getMessage());
            assertEquals("rec: copy between U8[0+3] and F32[0+3] (dtype and length must match)",
                    assertThrows(IllegalArgumentException.class, () -> be.copy(f.slice(0, 3), u)).getMessage());
            assertEquals("rec: buffer for fill is null",
                    assertThrows(NullPointerException.class, () -> be.fill(null, 0f)).getMessage());
            // another backend's buffer, over the same kind of device
            try (DeviceBackend other = DeviceBackend.open(new Rec())) {
                Buffer theirs = other.alloc(DType.F32, 4);
                assertEquals("rec: buffer F32[0+4] (fill) belongs to another backend",
                        assertThrows(IllegalArgumentException.class, () -> be.fill(theirs, 0f)).getMessage());
                assertEquals("rec: buffer F32[0+4] (free) belongs to another backend",
                        assertThrows(IllegalArgumentException.class, () -> be.free(theirs)).getMessage());
            }
            // free waits for the queue, frees once; a second free of it (or of a view) is nothing
            r.calls.clear();
            int syncs = r.syncs;
            be.free(f);
            be.free(f);
            be.free(f.slice(1, 2));
            assertEquals(List.of("sync", "free 2"), r.calls, "f (after the dummy), once the queue is drained");
            assertEquals(syncs + 1, r.syncs);
            assertEquals("rec: buffer F32[0+10] (fill) was freed",
                    assertThrows(IllegalStateException.class, () -> be.fill(f, 0f)).getMessage());
            assertEquals("rec: buffer F32[0+10] (upload) was freed",
                    assertThrows(IllegalStateException.class, () -> be.upload(f, new float[1])).getMessage());
            assertEquals("rec: buffer F32[0+10] (download) was freed",
                    assertThrows(IllegalStateException.class, () -> be.download(new float[1], f)).getMessage());
            be.sync();
            assertEquals(syncs + 2, r.syncs);
            r.calls.clear();
        }
    }

    @Test
    void closingFreesScratchOnceAndRefusesLaterWork() throws Exception {
        Rec r = new Rec();
        DeviceBackend be = DeviceBackend.open(r);
        Buffer f = be.alloc(DType.F32, 1 << 20);
        long gen = be.scratchGeneration();
        ConvShape s = new ConvShape(8, 1, 28, 28, 20, 5, 5, 1, 0);
        be.forceVersion("conv2d_backward", 1);
        be.conv2dBackward(null, f, null, f, null, f, f, BRSF, s);           // scratch: 2 × 500 floats → 2^16
        assertEquals(gen, be.scratchGeneration(), "a first scratch replaces nothing");
        r.calls.clear();
        be.conv2dBackward(null, f, null, f, null, f, f, BRSF, s.withBatch(8 * 200));   // 225 splits × 500 > 2^16: grows
        assertEquals(gen + 1, be.scratchGeneration());
        assertEquals(List.of("sync", "free 3", "alloc " + 4 * 225 * 500), r.calls.subList(0, 3), "the old scratch is freed first");
        be.conv2dBackward(null, f, null, f, null, f, f, BRSF, s.withBatch(8 * 200));   // exactly the size it has: reused
        assertEquals(gen + 1, be.scratchGeneration());
        be.conv2dBackward(null, f, null, f, null, f, f, BRSF, s);           // fits: reused
        assertEquals(gen + 1, be.scratchGeneration());
        r.calls.clear();
        be.close();
        assertEquals("sync", r.calls.get(0), "the queue drains before anything is freed");
        assertEquals(2, r.calls.stream().filter(c -> c.startsWith("free")).count(), "the scratch and the 1-element dummy");
        be.close();
        assertEquals(1, r.closes, "closing twice closes the device once");
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, () -> be.alloc(DType.F32, 1)).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, be::sync).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, () -> be.fill(f, 0)).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, () -> be.copy(f, f)).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, () -> be.free(f)).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, () -> be.upload(f, new float[1])).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, () -> be.download(new int[1], f)).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class, () -> be.replay(null, f, 1, 1.0)).getMessage());
        assertEquals("rec: backend is closed", assertThrows(IllegalStateException.class,
                () -> be.launch(Kernel.MAXPOOL_FORWARD, 1, 1, 1, 256)).getMessage());
    }

    @Test
    void versionsPinsAndWhatRan() throws Exception {
        Rec r = new Rec();
        try (DeviceBackend be = DeviceBackend.open(r)) {
            assertEquals("rec", be.name());
            assertEquals("recorder", be.deviceName());
            assertSame(r, be.device());
            assertTrue(be.capturable());
            assertEquals(0, be.forceVersion("linear_forward", 3));
            assertEquals(3, be.forceVersion("linear_forward", 1));
            assertEquals(1, be.forceVersion("linear_forward", 0));
            assertEquals(0, be.forceVersion("linear_forward", 0));
            assertEquals("kernel version 4 of linear_forward: rec has versions 1..3",
                    assertThrows(IllegalArgumentException.class, () -> be.forceVersion("linear_forward", 4)).getMessage());
            assertEquals("kernel version -1 of linear_forward: rec has versions 1..3",
                    assertThrows(IllegalArgumentException.class, () -> be.forceVersion("linear_forward", -1)).getMessage());
            for (String op : List.of("gather_standardize", "linear_backward", "conv2d_backward", "apply_update", "step_replay")) {
                be.forceVersion(op, 1);
                assertFalse(be.capturable(), op + " at version 1 reads its scalars from arguments");
                be.forceVersion(op, 0);
            }
            assertTrue(be.capturable());
            be.forceVersion("batchnorm_forward", 1);
            assertTrue(be.capturable(), "batch norm does not read the step scalars");
            Buffer f = be.alloc(DType.F32, 1 << 20);
            be.linearForward(f, f, f, null, 64, 8, 100, false);
            be.forceVersion("linear_forward", 3);
            be.linearForward(f, f, f, null, 64, 8, 100, false);
            be.forceVersion("linear_forward", 1);
            be.linearForward(f, f, f, null, 64, 8, 100, false);
            be.maxpoolForward(f, f, f, 1, 1, 2, 2, 2);
            assertEquals("{linear_forward=v1,v2,v3, maxpool_forward=v1}", be.kernelVersions().toString());
        }
        Rec plain = v1(false);
        try (DeviceBackend be = DeviceBackend.open(plain)) {
            assertFalse(be.capturable());
            assertEquals(0, be.forceVersion("linear_forward", 1));
            assertEquals("kernel version 2 of linear_forward: rec has versions 1..1",
                    assertThrows(IllegalArgumentException.class, () -> be.forceVersion("linear_forward", 2)).getMessage());
        }
    }

    @Test
    void versionPropertiesAreOneLineAndCloseTheDevice() throws Exception {
        String[][] cases = {{"asymbp.kernels", "x", "rec: -Dasymbp.kernels=x: expected a version number"},
                {"asymbp.kernels.linear_forward", "9", "rec: -Dasymbp.kernels.linear_forward=9: kernel version 9 of linear_forward: rec has versions 1..3"},
                {"asymbp.kernels.linear_forward", "two", "rec: -Dasymbp.kernels.linear_forward=two: expected a version number"}};
        for (String[] c : cases) {
            System.setProperty(c[0], c[1]);
            try {
                Rec r = new Rec();
                BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> DeviceBackend.open(r));
                assertEquals(c[2], e.getMessage());
                assertEquals(1, r.closes, "the device is closed");
            } finally {
                System.clearProperty(c[0]);
            }
        }
        // all ops at min(N, newest): 9 pins each to its newest (linear_backward 4: V materialised, tiles by size)
        System.setProperty("asymbp.kernels", " 9 ");
        System.setProperty("asymbp.kernels.maxpool", "1");
        try {
            assertEquals(List.of("linear_forward_v3 1x1x1", "linear_backward_v4_materialize 1x1x1", "linear_backward_v2_dx 1x1x1",
                    "linear_backward_v2_dw 1x1x1"), plan(tuned(132), o -> {
                o.be.linearForward(o.f, o.f, o.f, null, 4, 4, 4, false);
                o.be.linearBackward(o.f, o.f, null, o.f, null, o.f, o.f, BRSF, 4, 4, 4);
            }));
        } finally {
            System.clearProperty("asymbp.kernels");
            System.clearProperty("asymbp.kernels.maxpool");
        }
        System.setProperty("asymbp.kernels", "2");
        try {
            assertEquals(List.of("linear_forward_v2 1x1x1"), plan(tuned(1), o -> o.be.linearForward(o.f, o.f, o.f, null, 4, 4, 4, false)));
        } finally {
            System.clearProperty("asymbp.kernels");
        }
        // the device's product setting: direct products on any device, tiled ones even on a CPU device
        Rec direct = v1(false), tiled = v1(true);
        direct.direct = true;
        tiled.direct = false;
        assertEquals(List.of("linear_forward_direct 1x1x1"), plan(direct, o -> o.be.linearForward(o.f, o.f, o.f, null, 4, 4, 4, false)));
        assertEquals(List.of("linear_forward 1x1x1"), plan(tiled, o -> o.be.linearForward(o.f, o.f, o.f, null, 4, 4, 4, false)));
    }

    @Test
    void launchesCheckGridsAndArguments() throws Exception {
        Rec r = new Rec();
        try (DeviceBackend be = DeviceBackend.open(r)) {
            Buffer f = be.alloc(DType.F32, 8);
            r.calls.clear();
            be.launch(Kernel.MAXPOOL_FORWARD, 0, 1, 1, 256, f);
            be.launch(Kernel.MAXPOOL_FORWARD, 1, 0, 1, 256, f);
            be.launch(Kernel.MAXPOOL_FORWARD, 1, 1, 0, 256, f);
            assertEquals(List.of(), r.calls, "an empty problem launches nothing");
            be.launch(Kernel.MAXPOOL_FORWARD, 1, 65535, 65535, 256, f, new Object[] {1, new Object[] {2f, 3L}}, new Device.Opt(null), new Device.Opt(f));
            assertEquals(List.of("maxpool_forward 1x65535x65535"), r.calls);
            Object[] a = r.args.get(0);
            assertEquals(6, a.length, "nested arguments are flattened");
            assertEquals(List.of(1, 2f, 3L), Arrays.asList(a).subList(1, 4));
            assertEquals(new Device.Opt(null), a[4]);
            assertSame(f, ((Device.Opt) a[5]).buffer());
            assertEquals("maxpool_forward: grid 1×65536×1 exceeds the launch limits", assertThrows(IllegalArgumentException.class,
                    () -> be.launch(Kernel.MAXPOOL_FORWARD, 1, 65536, 1, 256)).getMessage());
            assertEquals("maxpool_forward: grid 1×1×65536 exceeds the launch limits", assertThrows(IllegalArgumentException.class,
                    () -> be.launch(Kernel.MAXPOOL_FORWARD, 1, 1, 65536, 256)).getMessage());
            assertEquals("maxpool_forward: unsupported kernel argument 1.0", assertThrows(IllegalArgumentException.class,
                    () -> be.launch(Kernel.MAXPOOL_FORWARD, 1, 1, 1, 256, 1.0)).getMessage());
            try (DeviceBackend other = DeviceBackend.open(new Rec())) {
                Buffer theirs = other.alloc(DType.F32, 2);
                assertEquals("rec: buffer F32[0+2] (maxpool_forward argument 1) belongs to another backend", assertThrows(IllegalArgumentException.class,
                        () -> be.launch(Kernel.MAXPOOL_FORWARD, 1, 1, 1, 256, f, theirs)).getMessage());
                assertEquals("rec: buffer F32[0+2] (maxpool_forward) belongs to another backend", assertThrows(IllegalArgumentException.class,
                        () -> be.launch(Kernel.MAXPOOL_FORWARD, 1, 1, 1, 256, new Device.Opt(theirs))).getMessage());
            }
            assertEquals("problem of 549755813888 elements too large for one launch", assertThrows(IllegalArgumentException.class,
                    () -> be.maxpoolBackward(f, f, f, 1 << 16, 1 << 15, 16, 16, 2)).getMessage());
            assertEquals("rec: applyUpdate lengths differ: params 8, velocity 4, grads 8", assertThrows(IllegalArgumentException.class,
                    () -> be.applyUpdate(f, f.slice(0, 4), f, UpdateRule.SGD, 0.1f, 0f, 0f, true)).getMessage());
            assertEquals("rec: applyUpdate lengths differ: params 8, velocity 8, grads 4", assertThrows(IllegalArgumentException.class,
                    () -> be.applyUpdate(f, f, f.slice(0, 4), UpdateRule.SGD, 0.1f, 0f, 0f, true)).getMessage());
        }
    }

    @Test
    void moreGroupsThanOneLaunchHoldsAreRefused() throws Exception {
        // 2^16 × 2^16 tiles of 64×64
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> plan(v1(false), o ->
                o.be.linearForward(o.f, o.f, o.f, null, 1 << 22, 1, 1 << 22, false)));
        assertEquals("linear_forward: 4294967296 groups are too many for one launch", e.getMessage());
    }

    @Test
    void captureRestrictionsAndTheGuardedUpdate() throws Exception {
        Rec r = new Rec();
        try (DeviceBackend be = DeviceBackend.open(r)) {
            Buffer f = be.alloc(DType.F32, 1 << 20), scalars = be.alloc(DType.F32, 8);
            be.capture(scalars);
            java.util.Map<String, Runnable> ops = new java.util.LinkedHashMap<>();
            ops.put("alloc", () -> be.alloc(DType.F32, 1));
            ops.put("free", () -> be.free(f));
            ops.put("upload", () -> be.upload(f, new float[1]));
            ops.put("download", () -> be.download(new float[1], f));
            ops.put("sync", be::sync);
            ops.put("replay", () -> be.replay(null, f, 1, 1.0));
            ops.forEach((what, op) -> assertEquals("rec: " + what + " is not allowed inside a captured training step (CUDA graph)",
                    assertThrows(IllegalStateException.class, op::run).getMessage()));
            be.forceVersion("conv2d_backward", 1);
            assertEquals("rec: conv2dBackward needs more scratch memory during graph capture; run one step eagerly before replay()",
                    assertThrows(IllegalStateException.class, () -> be.conv2dBackward(null, f, null, f, null, f, f, BRSF,
                            new ConvShape(8, 1, 28, 28, 20, 5, 5, 1, 0))).getMessage());
            r.args.clear();
            be.applyUpdate(f.slice(0, 4), f.slice(4, 4), f.slice(8, 4), UpdateRule.SGD, 0.1f, 0f, 0f, false);
            assertSame(scalars, ((Device.Opt) r.args.get(0)[r.args.get(0).length - 1]).buffer(), "captured: the device scalars");
            be.capture(null);
            r.args.clear();
            r.calls.clear();
            be.guardUpdates(scalars);
            be.applyUpdate(f.slice(0, 4), f.slice(4, 4), f.slice(8, 4), UpdateRule.SGD, 0.1f, 0f, 0f, false);
            be.guardUpdates(null);
            be.applyUpdate(f.slice(0, 4), f.slice(4, 4), f.slice(8, 4), UpdateRule.SGD, 0.1f, 0f, 0f, false);
            assertEquals(List.of("apply_update_guarded 1x1x1", "apply_update_v2 1x1x1"), r.calls);
            assertSame(scalars, r.args.get(0)[9], "the guarded update reads the halt state");
            assertEquals(new Device.Opt(null), r.args.get(1)[9], "eager: no device scalars");
        }
    }

    @Test
    void replayIsTheDevicesOwnOnlyWhenGraphsAreOnAndEveryOpIsTuned() throws Exception {
        Rec r = new Rec();
        StepReplay own = new StepReplay() {
            @Override public void plan(int[] batchStarts, int firstStep, float lr, boolean firstIsFirstStep) {}
            @Override public void launch() {}
            @Override public Outcome finish() { return null; }
            @Override public void close() {}
        };
        r.own = own;
        try (DeviceBackend be = DeviceBackend.open(r)) {
            Buffer stats = be.alloc(DType.F32, 2);
            assertSame(own, be.replay(null, stats, 64, 230));
            assertTrue(be.graphs(false));
            try (StepReplay g = be.replay(null, stats, 64, 230)) { assertInstanceOf(GuardedReplay.class, g); }
            assertFalse(be.graphs(true));
            be.forceVersion("apply_update", 1);
            try (StepReplay g = be.replay(null, stats, 64, 230)) { assertInstanceOf(GuardedReplay.class, g); }
            be.forceVersion("apply_update", 0);
            r.own = null;
            try (StepReplay g = be.replay(null, stats, 64, 230)) { assertInstanceOf(GuardedReplay.class, g); }
            assertEquals("rec: buffer for stats is null", assertThrows(NullPointerException.class, () -> be.replay(null, null, 64, 230)).getMessage());
        }
        // a device whose own replay is switched off (CudaDevice: -Dasymbp.cuda.graph=false)
        r.own = own;
        r.ownReplay = false;
        try (DeviceBackend be = DeviceBackend.open(r)) {
            try (StepReplay g = be.replay(null, be.alloc(DType.F32, 2), 64, 230)) { assertInstanceOf(GuardedReplay.class, g); }
        }
    }
}
