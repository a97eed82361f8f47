package asymbp.grid.spark;

import asymbp.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/** How the Spark job is started, and what {@code grid run --spark} says without Spark. */
class SparkLaunchTest {

    @Test
    void sparkSubmitsMainClassImpliesSpark() {
        assertEquals(List.of("grid", "run", "--spark", "g.yaml", "--out", "d"),
                List.of(SparkGrid.withSpark(new String[] {"grid", "run", "g.yaml", "--out", "d"})));
        assertEquals(List.of("grid", "run", "g.yaml", "--spark"),
                List.of(SparkGrid.withSpark(new String[] {"grid", "run", "g.yaml", "--spark"})));
        assertEquals(List.of("grid", "report", "d"), List.of(SparkGrid.withSpark(new String[] {"grid", "report", "d"})));
    }

    @Test
    void withoutSparkOnTheClassPathSparkIsRefusedInOneLine(@TempDir Path dir) throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String noSpark = Arrays.stream(cp.split(File.pathSeparator))
                .filter(e -> !e.contains(File.separator + "org" + File.separator + "apache" + File.separator + "spark" + File.separator))
                .collect(Collectors.joining(File.pathSeparator));
        assertNotEquals(cp, noSpark, "spark jars were on the test class path");
        Path grid = dir.resolve("g.yaml");
        Files.writeString(grid, "datasets: [mnist]\nmodels: [lenet]\nfeedback: [bp]\nstabilisers: [bn]\nseeds: [1]\nepochs: 1\nlr: 0.01\n");
        Path out = dir.resolve("out");
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules=jdk.incubator.vector", "-cp", noSpark, "asymbp.cli.Main",
                "grid", "run", grid.toString(), "--out", out.toString(), "--spark")
                .redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the command ended");
        String err = Files.readString(dir.resolve("stderr"), StandardCharsets.UTF_8).lines()
                .filter(l -> !l.startsWith("WARNING: Using incubator modules")).collect(Collectors.joining("\n"));
        assertEquals(Main.USAGE, p.exitValue(), err);
        assertFalse(err.contains("\n"), "one line: " + err);
        assertTrue(err.contains("Apache Spark is not on the class path") && err.contains("spark-submit"), err);
        assertFalse(Files.exists(out), "nothing was started");
    }
}
