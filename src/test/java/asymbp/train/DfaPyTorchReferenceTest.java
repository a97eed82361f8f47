package asymbp.train;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.io.Npy;
import asymbp.model.FbScale;
import asymbp.model.FeedbackSpec;
import asymbp.model.Net;
import asymbp.model.ParamLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One dfa backward of the engine (cpu backend, float32) against python/dfa_reference.py (PyTorch, float64)
 * on the same random inputs, parameters and B_l (materialised here through Feedback.v, the definition
 * every kernel follows): every parameter gradient, element by element. LeNet with and without BN (conv,
 * pool, BN backward below a projected gradient) and an MLP, normal and Xavier-uniform B. Without python3
 * and torch it skips with the reason printed, except under CI=true, where their absence fails.
 */
class DfaPyTorchReferenceTest {

    private static final Path PYTHON = TorchPython.PYTHON;
    private static final Path SCRIPT = Path.of("python", "dfa_reference.py");
    /** float32 against float64, element by element relative to max(|PyTorch's|, 0.1·rms) (as conformance.Compare). */
    private static final double REL_TOL = 1e-4;
    /* With BN the float32 engine and the float64 reference part further: batch norm over 5–16 examples divides
       by small variances, so rounding in the forward pass reaches the gradients amplified (measured up to
       1.2e-4 in fc4.weight of lenet+BN). A wrong B, layer, mask or scale errs by O(1), far above either bound. */
    private static final double REL_TOL_BN = 1e-3;

    record Case(String model, boolean bn, FbScale scale) {}

    @Test
    void dfaGradientsEqualPyTorchs(@TempDir Path dir) throws Exception {
        TorchPython.require("DfaPyTorchReferenceTest");
        long seed = Long.getLong("asymbp.seed", System.nanoTime() & 0xffffff);
        System.out.println("DfaPyTorchReferenceTest seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        List<Case> cases = List.of(new Case("lenet", false, FbScale.XAVIER), new Case("lenet", true, FbScale.ONE),
                new Case("mlp:50-30", false, FbScale.ONE), new Case("mlp:40", true, FbScale.XAVIER));
        Random rnd = new Random(seed);
        for (Case c : cases) {
            Path d = Files.createDirectories(dir.resolve(c.model().replace(':', '_') + (c.bn() ? "_bn" : "")));
            check(c, d, rnd.nextLong(), rnd);
        }
    }

    private static void check(Case c, Path d, long seed, Random rnd) throws Exception {
        int classes = 10, batch = 5 + rnd.nextInt(12);
        Net net = Net.build(c.model(), 1, 28, 28, classes, c.bn());
        boolean xavier = c.scale().xavier();
        FeedbackSpec spec = FeedbackSpec.parse("dfa", c.scale(), false, 0f, false);
        List<Net.WeightLayer> wls = net.weightLayers();
        int last = wls.size() - 1;
        float[] initStd = new float[wls.size()];
        for (Net.WeightLayer w : wls) initStd[w.index()] = Net.initStd(w, xavier);
        float[] p = net.initialParameters(seed, xavier);
        // biases at 0 (xavier) would hide a wrong db: give every parameter some spread
        for (int i = 0; i < p.length; i++) p[i] += 0.05f * (float) rnd.nextGaussian();
        float[] x = new float[batch * net.inputFeatures()];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        int[] labels = new int[batch];
        float[] labelsF = new float[batch];
        for (int i = 0; i < batch; i++) labelsF[i] = labels[i] = rnd.nextInt(classes);

        float[] grads = new float[p.length];
        try (Backend be = TestBackends.open("cpu"); Net.Workspace ws = net.workspace(be, batch)) {
            Buffer params = be.alloc(DType.F32, p.length), g = be.alloc(DType.F32, p.length),
                    state = be.alloc(DType.F32, Math.max(1, net.state().size())), lab = be.alloc(DType.I32, batch),
                    stats = be.alloc(DType.F32, 2);
            be.upload(params, p);
            float[] s0 = net.initialState();
            be.upload(state, s0.length == 0 ? new float[1] : s0);
            be.upload(ws.input(batch), x);
            be.upload(lab, labels);
            be.fill(g, Float.NaN);   // every gradient must be written
            net.forward(be, ws, params, state, batch, true);
            be.softmaxCrossEntropy(ws.dlogits(batch), stats, ws.logits(batch), lab, batch, classes);
            net.backward(be, ws, params, g, batch,
                    l -> spec.forLayer(seed, l, 0, l == last, initStd[l], wls.get(l).fanIn(), wls.get(l).fanOut()),
                    l -> spec.direct(seed, l, l == last, initStd[l], classes, wls.get(l).inFeatures()), false);
            be.download(grads, g);
        }

        // The reference's inputs: model, data, parameters, and each B_l as Feedback.v defines it.
        Files.writeString(d.resolve("model.json"), String.format(java.util.Locale.ROOT,
                "{\"model\": \"%s\", \"channels\": 1, \"height\": 28, \"width\": 28, \"classes\": %d, \"bn\": %b}",
                c.model(), classes, c.bn()));
        Npy.write(d.resolve("x.npy"), new int[] {batch, net.inputFeatures()}, x, 0, x.length);
        Npy.write(d.resolve("labels.npy"), new int[] {batch}, labelsF, 0, batch);
        for (ParamLayout.Entry e : net.params().entries())
            Npy.write(d.resolve(e.name() + ".npy"), e.shape(), p, (int) e.offset(), (int) e.size());
        int projected = 0;
        for (Net.WeightLayer w : wls) {
            if (w.index() == 0) continue;   // the first layer's input gradient is not needed
            Feedback b = spec.direct(seed, w.index(), w.index() == last, initStd[w.index()], classes, w.inFeatures());
            assertNotNull(b, w.name());
            assertEquals(xavier, b.uniformB(), w.name() + ": B's distribution");
            float[] m = new float[classes * w.inFeatures()];
            for (int i = 0; i < m.length; i++) m[i] = b.v(0f, i);
            Npy.write(d.resolve("B_" + w.name() + ".npy"), new int[] {classes, w.inFeatures()}, m, 0, m.length);
            projected++;
        }
        assertEquals(wls.size() - 1, projected);
        String out = TorchPython.run(List.of(PYTHON.toString(), SCRIPT.toString(), d.toString()));
        System.out.print(out);

        for (ParamLayout.Entry e : net.params().entries()) {
            double[] want = readF64(d.resolve("grad_" + e.name() + ".f64"), (int) e.size());
            double sq = 0;
            for (double v : want) sq += v * v;
            double floor = Math.max(0.1 * Math.sqrt(sq / want.length), 1e-30), worst = 0;
            int at = -1;
            for (int i = 0; i < want.length; i++) {
                float got = grads[(int) e.offset() + i];
                assertTrue(Float.isFinite(got), c + " " + e.name() + "[" + i + "] is " + got);
                double err = Math.abs(got - want[i]) / Math.max(Math.abs(want[i]), floor);
                if (err > worst) { worst = err; at = i; }
            }
            System.out.printf("  %-10s %s%s %-14s max rel err %.2e%n", c.model(), c.bn() ? "bn " : "", c.scale(), e.name(), worst);
            int i = at;
            assertTrue(worst <= (c.bn() ? REL_TOL_BN : REL_TOL), c + " " + e.name() + ": max rel err " + worst + " at " + i + " (engine "
                    + (i < 0 ? 0 : grads[(int) e.offset() + i]) + ", PyTorch " + (i < 0 ? 0 : want[i]) + ")");
        }
    }

    private static double[] readF64(Path file, int n) throws IOException {
        byte[] b = Files.readAllBytes(file);
        assertEquals(8L * n, b.length, file + ": size");
        double[] out = new double[n];
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).asDoubleBuffer().get(out);
        return out;
    }
}
