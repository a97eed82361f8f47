package asymbp.train;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Debian's python3 with torch and numpy, as the PyTorch cross-check tests use it. */
final class TorchPython {

    static final Path PYTHON = Path.of("/usr/bin/python3");

    private TorchPython() {}

    /** Runs {@code cmd}, fails the test unless it exits 0 within 120 s; returns its output. */
    static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "python timed out: " + cmd);
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), String.join(" ", cmd) + " failed:\n" + text);
        return text;
    }

    /** Skips {@code test} (printing why) without python3 + torch + numpy; under CI=true their absence fails. */
    static void require(String test) throws InterruptedException {
        String why = null;
        if (!Files.isExecutable(PYTHON)) {
            why = PYTHON + " is absent";
        } else {
            try {
                Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import torch, numpy").redirectErrorStream(true).start();
                String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
                if (p.waitFor() != 0) why = "python3 cannot import torch and numpy (" + text.lines().reduce((a, b) -> b).orElse("") + ")";
            } catch (IOException e) {
                why = "cannot start " + PYTHON + ": " + e.getMessage();
            }
        }
        if (why == null) return;
        if ("true".equals(System.getenv("CI")))
            fail(why + "; .ci/run installs python3-torch, so under CI=true this is a failure");
        System.out.println(test + " skipped: " + why + " (apt-get install python3-torch)");
        Assumptions.abort(why);
    }
}
