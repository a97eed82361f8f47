package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A JVM started without --add-modules jdk.incubator.vector: the backend must say "scalar", never link a
 * Vector API class (checked with -Xlog:class+load), and compute the same as the vector path. Runs
 * {@link #main} in a child JVM.
 */
class WithoutVectorModuleTest {

    /** Child entry point: prints the device line and a checksum of a small backward in mode brsf. */
    public static void main(String[] args) throws Exception {
        CpuProvider p = new CpuProvider();
        System.out.println("DEVICE " + p.devices().get(0));
        try (Backend be = p.open(0)) {
            System.out.println("SUM " + brsfBackwardSum(be));
        }
    }

    /** The sum of dx of a small brsf backward on constant inputs: the same work in both JVMs. */
    static double brsfBackwardSum(Backend be) {
        int batch = 3, in = 40, out = 20;
        Buffer dx = be.alloc(DType.F32, batch * in), dw = be.alloc(DType.F32, out * in);
        Buffer dy = be.alloc(DType.F32, batch * out), x = be.alloc(DType.F32, batch * in), w = be.alloc(DType.F32, out * in);
        be.fill(dy, 0.5f);
        be.fill(x, 0.25f);
        be.fill(w, -0.125f);
        be.linearBackward(dx, dw, null, dy, null, x, w, new Feedback(FeedbackMode.BRSF, 1f, 1f, 0f, false, 9L, 0, 1), batch, in, out);
        float[] v = new float[batch * in];
        be.download(v, dx);
        double sum = 0;
        for (float f : v) sum += f;
        return sum;
    }

    @Test
    void scalarPathRunsWithoutTheModule() throws Exception {
        String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
        // -Xlog:class+load lists every class the child loads: no Vector API class of ours may appear.
        Process proc = new ProcessBuilder(java, "-Xlog:class+load=info", "-cp", System.getProperty("java.class.path"),
                WithoutVectorModuleTest.class.getName())
                .redirectErrorStream(true).start();
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "child JVM did not finish");
        String output = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String loadedVectorClasses = output.lines().filter(l -> l.contains("[class,load]"))
                .filter(l -> l.contains("asymbp.cpu.Vector") || l.contains("jdk.incubator.vector"))
                .reduce("", (a, b) -> a + b + "\n");
        String rest = output.lines().filter(l -> !l.contains("[class,load]")).reduce("", (a, b) -> a + b + "\n");
        System.out.print(rest);
        assertEquals(0, proc.exitValue(), rest);
        assertEquals("", loadedVectorClasses, "the child loaded Vector API classes");
        assertTrue(rest.contains("DEVICE cpu: ") && rest.contains("scalar (jdk.incubator.vector absent)"), rest);
        // The same backward with the Vector API, here: same sum within float tolerance.
        double child = Double.parseDouble(rest.replaceAll("(?s).*SUM ([-0-9.Ee]+).*", "$1"));
        try (CpuBackend be = new CpuBackend()) {
            double sum = brsfBackwardSum(be);
            assertEquals(sum, child, 1e-4 * Math.abs(sum), "scalar child vs vector parent");
        }
    }
}
