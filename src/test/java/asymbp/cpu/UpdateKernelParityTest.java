package asymbp.cpu;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Vector API update equals the plain loop bit for bit (SGD and BM, first step or not, weight decay
 * on or off), on views at odd offsets and lengths that leave vector tails, with gradients that are
 * ±0, NaN, ±Inf and denormal.
 */
class UpdateKernelParityTest {

    @Test
    void vectorUpdateIsTheScalarLoopBitForBit() {
        Kernels k = Kernels.best();
        assertTrue(k.update instanceof VectorUpdateKernel, "Vector API update not selected: " + k.description);
        SplittableRandom r = CpuTestSupport.random("UpdateKernelParityTest");
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE, -Float.MIN_VALUE};
        UpdateKernel scalar = new UpdateKernel();
        for (int trial = 0; trial < 64; trial++) {
            int n = 1 + r.nextInt(300), tho = r.nextInt(17), vo = r.nextInt(17), go = r.nextInt(17);
            int lo = r.nextInt(Math.max(1, n / 3)), hi = lo + r.nextInt(n - lo + 1);
            float[] th = new float[tho + n], v = new float[vo + n], g = new float[go + n];
            for (int i = 0; i < n; i++) {
                th[tho + i] = (float) r.nextGaussian();
                v[vo + i] = (float) r.nextGaussian();
                g[go + i] = r.nextInt(8) == 0 ? special[r.nextInt(special.length)] : (float) r.nextGaussian();
            }
            boolean bm = r.nextBoolean(), first = r.nextBoolean();
            float lr = 0.01f + r.nextFloat(), mom = r.nextFloat(), wd = r.nextBoolean() ? 0f : 1e-3f * r.nextFloat();
            float[] th2 = th.clone(), v2 = v.clone();
            scalar.apply(th, tho, v, vo, g, go, lo, hi, bm, lr, mom, wd, first);
            k.update.apply(th2, tho, v2, vo, g, go, lo, hi, bm, lr, mom, wd, first);
            for (int i = 0; i < th.length; i++)
                assertEquals(Float.floatToRawIntBits(th[i]), Float.floatToRawIntBits(th2[i]),
                        "θ[" + i + "] trial " + trial + " (bm " + bm + ", first " + first + ")");
            for (int i = 0; i < v.length; i++)
                assertEquals(Float.floatToRawIntBits(v[i]), Float.floatToRawIntBits(v2[i]),
                        "v[" + i + "] trial " + trial + " (bm " + bm + ", first " + first + ")");
        }
    }
}
