package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.rng.Philox;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * psf keeps the sign of W where u &lt; p and flips it where u ≥ p (docs/spec.md §3): with p set to exactly the
 * draw u of one element, that element must flip, in {@link Feedback#v} and in both row generators.
 * Random p almost never lands on a draw, so only this boundary tells &lt; from ≤.
 */
class PsfBoundaryTest {

    private static FeedbackRow[] generators() {
        return new FeedbackRow[] {new FeedbackRow(), Kernels.best().feedback.get()};
    }

    @Test
    void aDrawEqualToPFlipsTheSign() {
        SplittableRandom r = CpuTestSupport.random("PsfBoundaryTest.equal");
        long seed = r.nextLong();
        int layer = r.nextInt(8), n = 37;
        float[] w = new float[n];
        for (int j = 0; j < n; j++) w[j] = (r.nextBoolean() ? 1 : -1) * (0.1f + (float) r.nextDouble());
        for (int at : new int[] {0, 5, 16, 36}) {
            long index0 = 1000 + r.nextInt(1000);
            float u = Philox.uniform(seed, Philox.PURPOSE_FEEDBACK_FLIP, layer, 0, index0 + at);
            Feedback fb = new Feedback(FeedbackMode.PSF, 0.8f, u, 0f, false, seed, layer, 4);
            float m = Philox.uniform(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, layer, 0, index0 + at);
            float flipped = (0.8f * m) * -Math.signum(w[at]);
            assertEquals(flipped, fb.v(w[at], index0 + at), "Feedback.v at u = p must flip");
            for (FeedbackRow gen : generators()) {
                float[] v = new float[n + 2];
                gen.fill(fb, w, 0, index0, n, v, 2);
                assertEquals(flipped, v[2 + at], gen.describe() + ": u = p must flip (element " + at + ")");
                for (int j = 0; j < n; j++)
                    assertEquals(fb.v(w[j], index0 + j), v[2 + j], gen.describe() + ": element " + j + " as Feedback.v");
            }
        }
    }

    @Test
    void pZeroFlipsEverySignAndPOneNone() {
        SplittableRandom r = CpuTestSupport.random("PsfBoundaryTest.extremes");
        long seed = r.nextLong();
        int n = 41;
        float[] w = CpuTestSupport.uniform(r, n, -1, 1);
        w[3] = 0f;
        w[4] = -0f;
        for (float p : new float[] {0f, 1f}) {
            Feedback fb = new Feedback(FeedbackMode.PSF, 1.5f, p, 0f, true, seed, 1, 0);
            for (FeedbackRow gen : generators()) {
                float[] v = new float[n];
                gen.fill(fb, w, 0, 0, n, v, 0);
                for (int j = 0; j < n; j++) {
                    float m = Math.abs(Philox.normal(seed, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 1, 0, j));
                    float s = Math.signum(w[j]) == 0 ? 0f : (p == 1f ? 1f : -1f) * Math.signum(w[j]);
                    assertEquals((1.5f * m) * s, v[j], 0f, gen.describe() + " p=" + p + " element " + j);
                }
            }
        }
    }

    @Test
    void generatorsSayWhichTheyAre() {
        assertEquals("scalar Philox", new FeedbackRow().describe());
        FeedbackRow best = Kernels.best().feedback.get();
        assertEquals(best.getClass() == FeedbackRow.class ? "scalar Philox" : "Vector API Philox", best.describe());
        assertTrue(Kernels.VECTOR_MODULE || best.getClass() == FeedbackRow.class);
    }
}
