package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.UpdateRule;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** SGD and Batch Manhattan updates (docs/spec.md §4) against hand-computed values. */
class UpdateTest {
    private static CpuBackend be;

    @BeforeAll static void open() { be = new CpuBackend(); }
    @AfterAll static void close() { be.close(); }

    private static Buffer up(float... a) {
        Buffer all = be.alloc(DType.F32, a.length + 2);
        be.fill(all, Float.NaN);
        Buffer b = all.slice(1, a.length);
        be.upload(b, a);
        return b;
    }

    private static void update(UpdateRule rule, float[] theta, float[] v, float[] g, float lr, float mu, float wd,
                               boolean first, float[] wantTheta, float[] wantV) {
        Buffer t = up(theta), vb = up(v), gb = up(g);
        be.applyUpdate(t, vb, gb, rule, lr, mu, wd, first);
        float[] gotT = CpuTestSupport.download(be, t), gotV = CpuTestSupport.download(be, vb);
        for (int i = 0; i < theta.length; i++) {
            assertEquals(wantV[i], gotV[i], 1e-6f * Math.max(1, Math.abs(wantV[i])), rule + " first=" + first + " v[" + i + "]");
            assertEquals(wantTheta[i], gotT[i], 1e-6f * Math.max(1, Math.abs(wantTheta[i])), rule + " first=" + first + " θ[" + i + "]");
        }
        assertEquals(g.length, CpuTestSupport.download(be, gb).length);
    }

    @Test
    void sgd() {
        float[] theta = {1f, -2f, 0.5f}, v = {0.2f, -0.1f, 0f}, g = {0.5f, 0f, -4f};
        // d = g + 0.01θ = {0.51, -0.02, -3.995}
        // first step: v = d; θ − 0.1v = {0.949, -1.998, 0.8995}
        update(UpdateRule.SGD, theta, v, g, 0.1f, 0.9f, 0.01f, true,
                new float[] {0.949f, -1.998f, 0.8995f}, new float[] {0.51f, -0.02f, -3.995f});
        // later step: v = 0.9v + d = {0.69, -0.11, -3.995}; θ = {0.931, -1.989, 0.8995}
        update(UpdateRule.SGD, theta, v, g, 0.1f, 0.9f, 0.01f, false,
                new float[] {0.931f, -1.989f, 0.8995f}, new float[] {0.69f, -0.11f, -3.995f});
    }

    @Test
    void batchManhattan() {
        // sign(g): 0.5 → 1, 0 → 0, −0.0 → 0, −4 → −1, 1e-30 → 1, NaN → 0
        float[] theta = {1f, -2f, 3f, 0.5f, 0f, 2f}, v = {0.2f, -0.1f, 1f, 0f, 0.3f, 0f};
        float[] g = {0.5f, 0f, -0f, -4f, 1e-30f, Float.NaN};
        // d = sign(g) + 0.01θ = {1.01, -0.02, 0.03, -0.995, 1, 0.02}
        update(UpdateRule.BM, theta, v, g, 0.1f, 0.9f, 0.01f, true,
                new float[] {0.899f, -1.998f, 2.997f, 0.5995f, -0.1f, 1.998f},
                new float[] {1.01f, -0.02f, 0.03f, -0.995f, 1f, 0.02f});
        // v = 0.9v + d = {1.19, -0.11, 0.93, -0.995, 1.27, 0.02}
        update(UpdateRule.BM, theta, v, g, 0.1f, 0.9f, 0.01f, false,
                new float[] {0.881f, -1.989f, 2.907f, 0.5995f, -0.127f, 1.998f},
                new float[] {1.19f, -0.11f, 0.93f, -0.995f, 1.27f, 0.02f});
        // μ = 0, λ = 0: θ ← θ − η·sign(g)
        update(UpdateRule.BM, theta, v, g, 0.25f, 0f, 0f, false,
                new float[] {0.75f, -2f, 3f, 0.75f, -0.25f, 2f}, new float[] {1f, 0f, 0f, -1f, 1f, 0f});
    }

    @Test
    void largeBufferMatchesFormula() {
        SplittableRandom r = CpuTestSupport.random("UpdateTest.large");
        int n = 100_003;
        for (UpdateRule rule : UpdateRule.values()) {
            float[] theta = CpuTestSupport.uniform(r, n, -1, 1), v = CpuTestSupport.uniform(r, n, -1, 1), g = CpuTestSupport.normal(r, n);
            float lr = 0.05f, mu = 0.9f, wd = 1e-3f;
            float[] wantT = new float[n], wantV = new float[n];
            for (int i = 0; i < n; i++) {
                double s = g[i] > 0 ? 1 : g[i] < 0 ? -1 : 0;
                double d = (rule == UpdateRule.BM ? s : g[i]) + wd * (double) theta[i];
                wantV[i] = (float) (mu * (double) v[i] + d);
                wantT[i] = (float) (theta[i] - lr * (mu * (double) v[i] + d));
            }
            update(rule, theta, v, g, lr, mu, wd, false, wantT, wantV);
        }
    }
}
