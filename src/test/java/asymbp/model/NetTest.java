package asymbp.model;

import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

class NetTest {

    static String names(ParamLayout l) {
        return l.entries().stream().map(e -> e.name() + e.shapeString()).collect(Collectors.joining(" "));
    }

    @Test
    void lenetWithBnHasPyTorchNamesShapesAndNoBiasBeforeBn() {
        Net n = Net.build("lenet", 1, 28, 28, 10, true);
        assertEquals("conv1.weight(6, 1, 5, 5) bn1.weight(6,) bn1.bias(6,) conv2.weight(16, 6, 5, 5) bn2.weight(16,) bn2.bias(16,) "
                + "fc3.weight(120, 400) bn3.weight(120,) bn3.bias(120,) fc4.weight(84, 120) bn4.weight(84,) bn4.bias(84,) "
                + "fc5.weight(10, 84) fc5.bias(10,)", names(n.params()));
        assertEquals("bn1.running_mean(6,) bn1.running_var(6,) bn2.running_mean(16,) bn2.running_var(16,) "
                + "bn3.running_mean(120,) bn3.running_var(120,) bn4.running_mean(84,) bn4.running_var(84,)", names(n.state()));
        assertEquals(5, n.weightLayers().size());
        assertEquals(10, n.classes());
        assertEquals(784, n.inputFeatures());
    }

    @Test
    void lenetWithoutBnHasBiasesAndFusedRelu() {
        Net n = Net.build("lenet", 1, 28, 28, 10, false);
        assertEquals("conv1.weight(6, 1, 5, 5) conv1.bias(6,) conv2.weight(16, 6, 5, 5) conv2.bias(16,) "
                + "fc3.weight(120, 400) fc3.bias(120,) fc4.weight(84, 120) fc4.bias(84,) fc5.weight(10, 84) fc5.bias(10,)",
                names(n.params()));
        assertEquals(61706, n.params().size());
        assertEquals(0, n.state().size());
        List<Net.WeightLayer> w = n.weightLayers();
        for (int i = 0; i < 4; i++) assertTrue(w.get(i).relu(), w.get(i).name());
        assertFalse(w.get(4).relu(), "no ReLU on the logits");
    }

    @Test
    void lenetBiotorchIsBioTorchsLeNetMnist() {
        Net n = Net.build("lenet-biotorch", 1, 28, 28, 10, false);
        assertEquals("conv1.weight(6, 1, 5, 5) conv1.bias(6,) conv2.weight(16, 6, 5, 5) conv2.bias(16,) "
                + "conv3.weight(120, 16, 5, 5) conv3.bias(120,) fc4.weight(84, 120) fc4.bias(84,) fc5.weight(10, 84) fc5.bias(10,)",
                names(n.params()));
        List<Net.WeightLayer> w = n.weightLayers();
        assertEquals(List.of(true, true, true, false, false), w.stream().map(Net.WeightLayer::relu).collect(Collectors.toList()),
                "ReLU after each convolution, none after fc4 (as BioTorch's) or the logits");
        assertEquals(List.of(25, 150, 400, 120, 84), w.stream().map(Net.WeightLayer::fanIn).collect(Collectors.toList()));
        assertEquals(List.of(150, 400, 3000, 84, 10), w.stream().map(Net.WeightLayer::fanOut).collect(Collectors.toList()),
                "conv3's Xavier fan-out counts its 5×5 kernel: 120·25");
        assertEquals(120, ((Net.Linear) w.get(3)).in());
        // with BN only the convolutions get it: fc4 is not followed by a ReLU, so neither by a BN
        assertEquals("conv1.weight(6, 1, 5, 5) bn1.weight(6,) bn1.bias(6,) conv2.weight(16, 6, 5, 5) bn2.weight(16,) bn2.bias(16,) "
                + "conv3.weight(120, 16, 5, 5) bn3.weight(120,) bn3.bias(120,) fc4.weight(84, 120) fc4.bias(84,) "
                + "fc5.weight(10, 84) fc5.bias(10,)", names(Net.build("LeNet-BioTorch", 1, 28, 28, 10, true).params()));
        Net.checkName("lenet-biotorch");
    }

    @Test
    void cifarAndMlpShapes() {
        Net c = Net.build("cifar", 3, 32, 32, 100, true);
        assertEquals(64 * 4 * 4, ((Net.Linear) c.weightLayers().get(3)).in());
        assertEquals(List.of(3 * 25, 32 * 25, 32 * 25, 1024, 64),
                c.weightLayers().stream().map(Net.WeightLayer::fanIn).collect(Collectors.toList()));
        Net m = Net.build("mlp:1024-1024-1024", 1, 28, 28, 10, false);
        assertEquals("fc1.weight(1024, 784) fc1.bias(1024,) fc2.weight(1024, 1024) fc2.bias(1024,) "
                + "fc3.weight(1024, 1024) fc3.bias(1024,) fc4.weight(10, 1024) fc4.bias(10,)", names(m.params()));
    }

    @Test
    void badModelsAreRejectedNamingTheFlag() {
        for (String bad : new String[] {"resnet", "mlp", "mlp:", "mlp:10-x", "mlp:0", ""}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Net.checkName(bad));
            assertTrue(e.getMessage().startsWith("--model"), e.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Net.build("lenet", 1, 4, 4, 10, true));
        assertTrue(e.getMessage().contains("does not fit"), e.getMessage());
    }

    @Test
    void initialisationIsPhiloxUniformWithinBoundAndReproducible() {
        Net n = Net.build("lenet", 1, 28, 28, 10, false);
        float[] a = n.initialParameters(3, false), b = n.initialParameters(3, false), c = n.initialParameters(4, false);
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
        for (Net.WeightLayer w : n.weightLayers()) {
            float bound = (float) (1 / Math.sqrt(w.fanIn()));
            double sum = 0, sq = 0;
            for (long i = 0; i < w.weightSize(); i++) {
                float v = a[(int) (w.weightOffset() + i)];
                assertTrue(Math.abs(v) <= bound, w.name() + " " + v + " outside ±" + bound);
                sum += v;
                sq += v * v;
            }
            double std = Math.sqrt(sq / w.weightSize() - Math.pow(sum / w.weightSize(), 2));
            assertEquals(Net.initStd(w, false), std, 0.1 * Net.initStd(w, false), w.name());
            // Element 0 is exactly (2u − 1)·bound with u from Philox (layer = weight layer index).
            float u = asymbp.rng.Philox.uniform(3, asymbp.rng.Philox.PURPOSE_INIT_WEIGHT, w.index(), 0, 0);
            assertEquals((2 * u - 1) * bound, a[(int) w.weightOffset()]);
        }
        Net bn = Net.build("lenet", 1, 28, 28, 10, true);
        float[] p = bn.initialParameters(3, false), s = bn.initialState();
        ParamLayout.Entry g = bn.params().get("bn3.weight"), be = bn.params().get("bn3.bias");
        for (int i = 0; i < g.size(); i++) {
            assertEquals(1f, p[(int) g.offset() + i]);
            assertEquals(0f, p[(int) be.offset() + i]);
        }
        assertEquals(1f, s[(int) bn.state().get("bn2.running_var").offset()]);
        assertEquals(0f, s[(int) bn.state().get("bn2.running_mean").offset()]);
        float[] x = n.initialParameters(3, true);
        Net.WeightLayer l = n.weightLayers().get(2);
        float xb = (float) Math.sqrt(6.0 / (l.fanIn() + l.fanOut()));
        for (long i = 0; i < l.weightSize(); i++) assertTrue(Math.abs(x[(int) (l.weightOffset() + i)]) <= xb);
    }

    @Test
    void feedbackSpecParsesModesAndOptions() {
        FeedbackSpec f = FeedbackSpec.parse("psf:0.25", 2f, true, 0f, false);
        assertEquals(FeedbackMode.PSF, f.mode());
        assertEquals(0.25f, f.p());
        Feedback fb = f.forLayer(9, 2, 17, false, 0.1f);
        assertEquals(new Feedback(FeedbackMode.PSF, 2f, 0.25f, 0.1f, true, 9, 2, 17), fb);
        assertEquals(FeedbackMode.BRSF, FeedbackSpec.parse("BRSF", 1, false, 0, false).mode());
        // fa: σ defaults to the layer's init std; an explicit σ wins.
        assertEquals(0.05f, FeedbackSpec.parse("fa", 1, false, 0, false).forLayer(1, 0, 0, false, 0.05f).sigma());
        assertEquals(0.3f, FeedbackSpec.parse("fa", 1, false, 0.3f, false).forLayer(1, 0, 0, false, 0.05f).sigma());
        // last layer bp
        FeedbackSpec l = FeedbackSpec.parse("usf", 1, false, 0, true);
        assertEquals(FeedbackMode.BP, l.forLayer(1, 4, 0, true, 0.1f).mode());
        assertEquals(FeedbackMode.USF, l.forLayer(1, 3, 0, false, 0.1f).mode());
        assertEquals(1f, FeedbackSpec.parse("psf:1", 1, false, 0, false).p());
        assertEquals(0f, FeedbackSpec.parse("psf:0", 1, false, 0, false).p());
        for (String bad : new String[] {"psf", "psf:2", "psf:-1", "psf:x", "sgd", "", "psf:NaN"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FeedbackSpec.parse(bad, 1, false, 0, false));
            assertTrue(e.getMessage().startsWith("--feedback"), e.getMessage());
        }
    }
}
