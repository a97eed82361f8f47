package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.rng.Philox;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The vectorised Philox and the panel-wise V generators are bit-exact with the scalar definitions. */
class PhiloxVectorTest {

    @Test
    void vectorWordsAreBitExactWithScalarPhilox() {
        SplittableRandom r = CpuTestSupport.random("PhiloxVectorTest.words");
        int[] block = new int[4];
        int checked = 0;
        for (int trial = 0; trial < 600; trial++) {
            long seed = r.nextLong();
            int purpose = r.nextInt(256), layer = r.nextInt(1 << 24), step = r.nextInt();
            // Indices near 0, anywhere, and straddling the 2^32 boundary of counter word 0.
            long index0 = trial % 3 == 0 ? r.nextInt(100) : trial % 3 == 1 ? r.nextLong() >>> 2 : (1L << 32) - r.nextInt(20);
            int n = r.nextInt(70);
            boolean all = r.nextBoolean();
            int[] w0 = new int[n], w1 = new int[n], w2 = new int[n], w3 = new int[n];
            if (all) VectorPhilox.words(seed, purpose, layer, step, index0, n, w0, w1, w2, w3);
            else VectorPhilox.words(seed, purpose, layer, step, index0, n, w0, null, null, null);
            for (int j = 0; j < n; j++) {
                Philox.block(seed, purpose, layer, step, index0 + j, block);
                assertEquals(block[0], w0[j], "word 0, trial " + trial + " j " + j);
                if (all) {
                    assertEquals(block[1], w1[j], "word 1, trial " + trial + " j " + j);
                    assertEquals(block[2], w2[j], "word 2, trial " + trial + " j " + j);
                    assertEquals(block[3], w3[j], "word 3, trial " + trial + " j " + j);
                }
                checked++;
            }
        }
        System.out.println("vector Philox: " + checked + " blocks bit-exact");
    }

    @Test
    void feedbackRowsAreBitExactWithFeedbackV() {
        SplittableRandom r = CpuTestSupport.random("PhiloxVectorTest.feedback");
        FeedbackRow vector = Kernels.best().feedback.get();
        assertTrue(vector instanceof VectorFeedbackRow, "expected the vector generator, got " + vector.describe());
        FeedbackRow[] gens = {vector, new FeedbackRow()};
        int checked = 0;
        for (FeedbackMode mode : FeedbackMode.kernelModes())
            for (int flags = 0; flags < 4; flags++)   // bit 0 half-normal magnitudes, bit 1 uniform B (fa)
                for (int trial = 0; trial < 8; trial++) {
                    float p = new float[] {0f, 0.25f, 0.5f, 1f, (float) r.nextDouble()}[r.nextInt(5)];
                    Feedback fb = new Feedback(mode, 0.5f + (float) r.nextDouble(), p, 0.1f + (float) r.nextDouble(),
                            (flags & Feedback.FLAG_HALF_NORMAL) != 0, r.nextLong(), r.nextInt(8), r.nextInt(100000),
                            (flags & Feedback.FLAG_UNIFORM_B) != 0);
                    int n = 1 + r.nextInt(140);
                    long index0 = trial == 0 ? (1L << 32) - 5 : r.nextInt(1 << 20);
                    float[] w = CpuTestSupport.uniform(r, n, -1, 1);
                    // The sign rule's special values: zeros of both signs, NaN, infinities, denormals.
                    w[r.nextInt(n)] = 0f;
                    w[r.nextInt(n)] = -0f;
                    w[r.nextInt(n)] = Float.NaN;
                    w[r.nextInt(n)] = Float.MIN_VALUE * (r.nextBoolean() ? 1 : -1);
                    w[r.nextInt(n)] = r.nextBoolean() ? Float.POSITIVE_INFINITY : Float.NEGATIVE_INFINITY;
                    for (FeedbackRow g : gens) {
                        float[] v = new float[n + 2];
                        v[0] = v[n + 1] = 12345f;
                        g.fill(fb, w, 0, index0, n, v, 1);
                        assertEquals(12345f, v[0]);
                        assertEquals(12345f, v[n + 1]);
                        for (int j = 0; j < n; j++) {
                            float want = fb.v(w[j], index0 + j);
                            assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(v[j + 1]),
                                    mode + " (" + g.describe() + ") index " + (index0 + j) + " w " + w[j] + ": " + v[j + 1] + " vs " + want);
                            checked++;
                        }
                    }
                }
        System.out.println("feedback rows: " + checked + " values bit-exact");
    }

    @Test
    void branchlessSelectionsEqualTheirDefinitions() {
        SplittableRandom r = CpuTestSupport.random("PhiloxVectorTest.branchless");
        float[] special = {0f, -0f, Float.NaN, Float.intBitsToFloat(0xffc00000), Float.intBitsToFloat(0x7f800001),
                Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f};
        for (int i = 0; i < 200_000 + special.length; i++) {
            float y = i < special.length ? special[i] : Float.intBitsToFloat(r.nextInt());
            float dy = (float) r.nextDouble() - 0.5f;
            float wantSign = (y > 0f ? 1f : 0f) - (y < 0f ? 1f : 0f);
            assertEquals(wantSign, Branchless.sign(y), "sign(" + y + ") bits " + Integer.toHexString(Float.floatToRawIntBits(y)));
            assertEquals(y > 0f ? dy : 0f, Branchless.gate(dy, y), "gate at y = " + y);
        }
    }
}
