package asymbp;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 12, item 7: the runtime jar carries only what runs. target/classes is what the shaded jar takes
 * from this project; JMH and the benchmarks join it only under {@code -Pbench}.
 */
class RuntimeJarTest {

    @Test
    void benchmarksAndJmhStayOutOfTheRuntimeClasses() {
        Assumptions.assumeFalse(Boolean.getBoolean("asymbp.bench.profile"), "built with -Pbench: the benchmarks belong in this jar");
        Path classes = Path.of("target/classes");
        Assumptions.assumeTrue(Files.isDirectory(classes.resolve("asymbp")), "no target/classes (not run by Maven)");
        String stale = " (built with -Pbench before? run mvn clean)";
        assertFalse(Files.exists(classes.resolve("asymbp/bench")), "benchmark classes in target/classes" + stale);
        assertFalse(Files.exists(classes.resolve("META-INF/BenchmarkList")), "JMH's BenchmarkList in target/classes" + stale);
    }
}
