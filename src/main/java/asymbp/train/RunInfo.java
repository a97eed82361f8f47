package asymbp.train;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.util.List;
import java.util.Properties;

/**
 * Where a run came from, for result.json and train.log: the build (version and git commit, recorded
 * by Maven into {@code asymbp/build.properties}), the command line and the machine.
 */
public record RunInfo(String version, String gitCommit, List<String> commandLine, String host, String os,
                      String java, int cpus, long maxHeapBytes) {

    public RunInfo {
        commandLine = commandLine == null ? List.of() : List.copyOf(commandLine);
    }

    /** This build and machine; {@code commandLine} as the user typed it (without the java launcher). */
    public static RunInfo of(List<String> commandLine) {
        Properties build = new Properties();
        try (InputStream in = RunInfo.class.getResourceAsStream("/asymbp/build.properties")) {
            if (in != null) build.load(in);
        } catch (IOException e) {
            // unknown build: reported as such below
        }
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException | RuntimeException e) {
            host = "unknown";
        }
        return new RunInfo(build.getProperty("version", "unknown"), build.getProperty("commit", "unknown"),
                commandLine, host,
                System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch"),
                System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory());
    }
}
