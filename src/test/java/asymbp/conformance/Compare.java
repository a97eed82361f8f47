package asymbp.conformance;

import static org.junit.jupiter.api.Assertions.*;

/** Element-wise relative comparison against an oracle (see {@link #assertClose}). */
final class Compare {
    private Compare() {}

    /** Elements are judged relative to max(|oracle|, FLOOR · rms(oracle)). */
    static final double FLOOR = 0.1;

    static double assertClose(String what, float[] got, float[] want, double bound) {
        assertEquals(want.length, got.length, what + ": length");
        double sq = 0;
        for (int i = 0; i < want.length; i++) {
            int at = i;
            assertTrue(Float.isFinite(want[i]), () -> what + ": the cpu oracle has " + want[at] + " at element " + at);
            sq += (double) want[i] * want[i];
        }
        double floor = Math.max(FLOOR * Math.sqrt(sq / Math.max(1, want.length)), 1e-30);
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < want.length; i++) {
            int at = i;
            assertTrue(Float.isFinite(got[i]), () -> what + ": element " + at + " is " + got[at]
                    + " (unwritten or overflowed), oracle " + want[at]);
            double err = Math.abs((double) got[i] - want[i]) / Math.max(Math.abs(want[i]), floor);
            if (err > worst) { worst = err; worstAt = i; }
        }
        int w = worstAt;
        double e = worst;
        System.out.printf("  %-58s n=%-8d max rel err %.2e%n", what, want.length, worst);
        assertTrue(worst <= bound, () -> what + ": element " + w + " = " + got[w] + ", oracle " + want[w]
                + ": relative error " + e + " > " + bound);
        return worst;
    }
}
