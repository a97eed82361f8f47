import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;

import java.nio.file.Files;
import java.nio.file.Path;

/** Compares V(W) computed by the CUDA kernels' fb_v (emulated) with asymbp.backend.Feedback#v, bit for bit. */
public class VCheck {
    public static void main(String[] args) throws Exception {
        long seed = 0x12345678_9abcdef0L;
        int n = 0, bad = 0;
        for (String line : Files.readAllLines(Path.of(args[0]))) {
            String[] f = line.trim().split(" ");
            int mode = Integer.parseInt(f[0]), step = Integer.parseInt(f[1]);
            int flags = Integer.parseInt(f[2]);
            long idx = Long.parseLong(f[3]);
            float w = Float.intBitsToFloat((int) Long.parseLong(f[4]));
            int vbits = (int) Long.parseLong(f[5]);
            Feedback fb = new Feedback(FeedbackMode.values()[mode], 1.0f, 0.75f, 0.1f, (flags & Feedback.FLAG_HALF_NORMAL) != 0,
                    seed, 3, step, (flags & Feedback.FLAG_UNIFORM_B) != 0);
            float v = fb.v(w, idx);
            n++;
            if (Float.floatToRawIntBits(v) != vbits) {
                if (bad++ < 10) System.out.println("MISMATCH " + line + ": java " + v + " cuda " + Float.intBitsToFloat(vbits));
            }
        }
        // emulate_check.cpp's dump_v writes 6 modes × 4 flag words × 3 steps × 5 indices × 6 weights.
        int expected = 6 * 4 * 3 * 5 * 6;
        boolean ok = bad == 0 && n == expected;
        System.out.println((ok ? "ok   " : "FAIL ") + "V(W) kernel vs Feedback.v: " + n + " samples (expected " + expected + "), "
                + bad + " mismatches");
        System.exit(ok ? 0 : 1);
    }
}
