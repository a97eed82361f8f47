package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Buffer;
import asymbp.backend.DType;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Batch norm's running estimates (momentum 0.1, unbiased variance) and evaluation mode. */
class BatchNormTest {
    private static CpuBackend be;

    @BeforeAll static void open() { be = new CpuBackend(); }
    @AfterAll static void close() { be.close(); }

    private static Buffer up(float... a) {
        Buffer b = be.alloc(DType.F32, a.length);
        be.upload(b, a);
        return b;
    }

    @Test
    void trainingByHand() {
        // Linear BN, batch 4, channels 2. Channel 0: 1,2,3,4 → mean 2.5, biased var 1.25, unbiased 5/3.
        // Channel 1: -1,-1,3,3 → mean 1, biased var 4, unbiased 16/3.
        Buffer x = up(1, -1, 2, -1, 3, 3, 4, 3);
        Buffer y = be.alloc(DType.F32, 8), mean = be.alloc(DType.F32, 2), inv = be.alloc(DType.F32, 2);
        be.fill(y, Float.NaN);
        Buffer rm = up(0.5f, -2f), rv = up(2f, 0.5f);
        be.batchnormForward(y, mean, inv, rm, rv, x, up(2f, 0.5f), up(0.25f, -1f), 4, 2, 1, true, 0.1f, 1e-5f, false);
        float[] m = CpuTestSupport.download(be, mean), s = CpuTestSupport.download(be, inv);
        assertEquals(2.5f, m[0], 1e-6f);
        assertEquals(1f, m[1], 1e-6f);
        assertEquals(1 / Math.sqrt(1.25 + 1e-5), s[0], 1e-6);
        assertEquals(1 / Math.sqrt(4 + 1e-5), s[1], 1e-6);
        float[] runM = CpuTestSupport.download(be, rm), runV = CpuTestSupport.download(be, rv);
        assertEquals(0.9 * 0.5 + 0.1 * 2.5, runM[0], 1e-6);        // 0.7
        assertEquals(0.9 * -2 + 0.1 * 1, runM[1], 1e-6);           // -1.7
        assertEquals(0.9 * 2 + 0.1 * 5.0 / 3, runV[0], 1e-6);      // 1.96667
        assertEquals(0.9 * 0.5 + 0.1 * 16.0 / 3, runV[1], 1e-6);   // 0.98333
        float[] ys = CpuTestSupport.download(be, y);
        double[] x0 = {1, 2, 3, 4}, x1 = {-1, -1, 3, 3};
        for (int b = 0; b < 4; b++) {
            assertEquals(2 * (x0[b] - 2.5) / Math.sqrt(1.25 + 1e-5) + 0.25, ys[2 * b], 1e-5);
            assertEquals(0.5 * (x1[b] - 1) / Math.sqrt(4 + 1e-5) - 1, ys[2 * b + 1], 1e-5);
        }
    }

    @Test
    void spatialTrainingAndEvaluation() {
        SplittableRandom r = CpuTestSupport.random("BatchNormTest.spatial");
        int batch = 3, channels = 4, spatial = 5, n = batch * channels * spatial;
        float[] x = CpuTestSupport.uniform(r, n, -3, 3), gamma = CpuTestSupport.uniform(r, channels, 0.5, 2),
                beta = CpuTestSupport.uniform(r, channels, -1, 1), rm0 = CpuTestSupport.uniform(r, channels, -1, 1),
                rv0 = CpuTestSupport.uniform(r, channels, 0.5, 2);
        Buffer y = CpuTestSupport.poisoned(be, n, r), mean = CpuTestSupport.poisoned(be, channels, r),
                inv = CpuTestSupport.poisoned(be, channels, r), rm = up(rm0.clone()), rv = up(rv0.clone());
        be.batchnormForward(y, mean, inv, rm, rv, up(x), up(gamma), up(beta), batch, channels, spatial, true, 0.1f, 1e-5f, true);
        float[] ys = CpuTestSupport.download(be, y), runM = CpuTestSupport.download(be, rm), runV = CpuTestSupport.download(be, rv);
        for (int c = 0; c < channels; c++) {
            double sum = 0, sq = 0;
            for (int b = 0; b < batch; b++) for (int q = 0; q < spatial; q++) sum += x[(b * channels + c) * spatial + q];
            double mu = sum / (batch * spatial);
            for (int b = 0; b < batch; b++) for (int q = 0; q < spatial; q++) {
                double d = x[(b * channels + c) * spatial + q] - mu;
                sq += d * d;
            }
            double var = sq / (batch * spatial), unbiased = sq / (batch * spatial - 1);
            assertEquals(0.9 * rm0[c] + 0.1 * mu, runM[c], 1e-6, "running mean " + c);
            assertEquals(0.9 * rv0[c] + 0.1 * unbiased, runV[c], 1e-5, "running var " + c);
            for (int b = 0; b < batch; b++) for (int q = 0; q < spatial; q++) {
                int i = (b * channels + c) * spatial + q;
                double want = Math.max(0, gamma[c] * (x[i] - mu) / Math.sqrt(var + 1e-5) + beta[c]);
                assertEquals(want, ys[i], 1e-5 * Math.max(1, Math.abs(want)), "training y[" + i + "]");
            }
        }
        // Evaluation: the running estimates normalise, nothing is written but y; save buffers may be null.
        float[] rmNow = runM.clone(), rvNow = runV.clone();
        Buffer ye = CpuTestSupport.poisoned(be, n, r);
        be.batchnormForward(ye, null, null, rm, rv, up(x), up(gamma), up(beta), batch, channels, spatial, false, 0.1f, 1e-5f, false);
        float[] yes = CpuTestSupport.download(be, ye);
        for (int i = 0; i < n; i++) {
            int c = (i / spatial) % channels;
            double want = gamma[c] * (x[i] - rmNow[c]) / Math.sqrt(rvNow[c] + 1e-5) + beta[c];
            assertEquals(want, yes[i], 1e-5 * Math.max(1, Math.abs(want)), "evaluation y[" + i + "]");
        }
        assertArrayEquals(rmNow, CpuTestSupport.download(be, rm), "evaluation changed the running mean");
        assertArrayEquals(rvNow, CpuTestSupport.download(be, rv), "evaluation changed the running variance");
        // With save buffers given in evaluation they stay untouched.
        Buffer sm = CpuTestSupport.poisoned(be, channels, r);
        be.batchnormForward(ye, sm, sm, rm, rv, up(x), up(gamma), up(beta), batch, channels, spatial, false, 0.1f, 1e-5f, false);
        for (float v : CpuTestSupport.download(be, sm)) assertTrue(Float.isNaN(v), "evaluation wrote saveMean/saveInvStd");
    }
}
