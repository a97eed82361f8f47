package asymbp.rng;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class PhiloxTest {
    private static int[] run(int[] c, int[] k) {
        int[] out = new int[4];
        Philox.philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1], out);
        return out;
    }

    /** Random123's kat_vectors, philox4x32 10: counter, key, expected output. */
    @Test
    void knownAnswerVectors() {
        assertArrayEquals(new int[] {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                run(new int[] {0, 0, 0, 0}, new int[] {0, 0}));
        assertArrayEquals(new int[] {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                run(new int[] {-1, -1, -1, -1}, new int[] {-1, -1}));
        assertArrayEquals(new int[] {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
                run(new int[] {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, new int[] {0xa4093822, 0x299f31d0}));
    }

    @Test
    void uniformIsInUnitIntervalWithRightMoments() {
        int n = 200_000;
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++) {
            float u = Philox.uniform(42, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 3, 7, i);
            assertTrue(u >= 0f && u < 1f, "uniform out of [0,1): " + u);
            sum += u; sq += u * u;
        }
        double mean = sum / n, var = sq / n - mean * mean;
        assertEquals(0.5, mean, 0.005);
        assertEquals(1.0 / 12, var, 0.002);
    }

    @Test
    void normalHasZeroMeanUnitVariance() {
        int n = 200_000;
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++) {
            float z = Philox.normal(7, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 0, 0, i);
            assertTrue(Math.abs(z) < 3.47f);
            sum += z; sq += z * z;
        }
        assertEquals(0.0, sum / n, 0.01);
        assertEquals(1.0, sq / n, 0.01);
    }

    @Test
    void counterFieldsSeparateStreams() {
        float a = Philox.uniform(1, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 0, 0, 5);
        assertNotEquals(a, Philox.uniform(2, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 0, 0, 5));
        assertNotEquals(a, Philox.uniform(1, Philox.PURPOSE_FEEDBACK_FLIP, 0, 0, 5));
        assertNotEquals(a, Philox.uniform(1, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 1, 0, 5));
        assertNotEquals(a, Philox.uniform(1, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 0, 1, 5));
        assertNotEquals(a, Philox.uniform(1, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 0, 0, 6));
        assertEquals(a, Philox.uniform(1, Philox.PURPOSE_FEEDBACK_MAGNITUDE, 0, 0, 5));
    }
}
