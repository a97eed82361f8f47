package asymbp.grid.spark;

import asymbp.cli.Main;
import asymbp.grid.CellResult;
import asymbp.grid.CellSpec;
import asymbp.grid.GridSpec;
import asymbp.grid.ResultStore;
import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarOutputStream;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A grid on a real Spark standalone cluster of processes on 127.0.0.1: a Master and two Workers (one
 * core each) in their own JVMs, from a SPARK_HOME whose jars/ holds this test's class path (Spark is a
 * provided dependency, so it is there), the application jar built from target/classes. The driver is
 * this JVM, through the same command line spark-submit runs ({@code grid run FILE --out DIR --spark}).
 * One executor is killed with SIGKILL while it trains a cell that has checkpointed an epoch. Checks: the
 * retried task resumes that cell from its checkpoint, every cell is recorded exactly once,
 * the report table equal to the one a local {@code --parallel 1} run writes, and the cells whose dataset
 * is missing failed with the missing path in their cell file. Every process started here is ended here.
 */
class SparkClusterTest {

    /** Running and lost tasks by executor, seen by the driver (this JVM) through Spark's listener bus. */
    public static final class TaskWatch extends SparkListener {
        /** Executor id → {partition, start time in ms} of the task it runs now. */
        static final Map<String, long[]> RUNNING = new ConcurrentHashMap<>();
        static final List<String> LOST = java.util.Collections.synchronizedList(new ArrayList<>());

        public TaskWatch(SparkConf conf) {}

        @Override public void onTaskStart(SparkListenerTaskStart e) {
            RUNNING.put(e.taskInfo().executorId(), new long[] {e.taskInfo().index(), e.taskInfo().launchTime()});
        }

        @Override public void onTaskEnd(SparkListenerTaskEnd e) {
            RUNNING.computeIfPresent(e.taskInfo().executorId(), (k, v) -> v[0] == e.taskInfo().index() ? null : v);
            if (!e.reason().getClass().getSimpleName().equals("Success$"))
                LOST.add(e.taskInfo().executorId() + ": " + e.reason());
        }
    }

    private final List<Process> started = new ArrayList<>();

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    private static String grid(long seed, Path missing) {
        return String.join("\n",
                "name: cluster",
                "datasets: [mnist, 'idx:" + missing + "']",
                "models: ['mlp:16']",
                "feedback: [bp, brsf]",
                "stabilisers: [bn, bm]",
                "seeds: [" + seed + ", " + (seed + 1) + "]",
                "epochs: 3",
                "batch: 32",
                "lr: {sgd: 0.05, bm: 0.001}",
                "momentum: 0.9",
                "limit: 2000",
                "backend: cpu",
                "");
    }

    private static int cli(StringWriter out, StringWriter err, String... args) {
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return cl.execute(args);
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void gridOnTwoWorkersSurvivesAKilledExecutorAndEqualsTheLocalRun(@TempDir Path dir) throws Exception {
        long seed = Long.getLong("asymbp.seed", ThreadLocalRandom.current().nextLong(1, 1 << 20));
        System.out.println("SparkCluster: training seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        Path missing = dir.resolve("not-on-the-workers");
        Path gridFile = dir.resolve("cluster.yaml");
        Files.writeString(gridFile, grid(seed, missing));
        List<CellSpec> cells = GridSpec.load(gridFile).cells();
        assertEquals(16, cells.size());

        // The reference: one process, one cell at a time, one cpu thread per cell (as each executor has).
        long t0 = System.nanoTime();
        Path local = dir.resolve("local").resolve("run");
        StringWriter lo = new StringWriter(), le = new StringWriter();
        assertEquals(Main.FAILED, cli(lo, le, "grid", "run", gridFile.toString(), "--out", local.toString(),
                "--parallel", "1", "--cpu-threads", "1"), le.toString());
        System.out.printf("SparkCluster: local --parallel 1 run %.1f s%n", (System.nanoTime() - t0) / 1e9);

        Path sparkHome = sparkHome(dir.resolve("spark-home"));
        Path appJar = appJar(dir.resolve("asymbp-app.jar"));
        Path logs = Files.createDirectories(dir.resolve("logs"));
        Path localDirs = Files.createDirectories(dir.resolve("spark-local"));
        Map<String, String> props = new java.util.LinkedHashMap<>();
        try {
            long c0 = System.nanoTime();
            int masterPort = freePort();
            String master = "spark://127.0.0.1:" + masterPort;
            // Each worker announces one (pretend) GPU, so cells are scheduled through Spark's resource scheduler.
            Path gpus = dir.resolve("gpus.sh");
            Files.writeString(gpus, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"0\"]}'\n");
            assertTrue(gpus.toFile().setExecutable(true));
            List<String> workerGpu = List.of("-Dspark.worker.resource.gpu.amount=1",
                    "-Dspark.worker.resource.gpu.discoveryScript=" + gpus);
            Process m = launch(sparkHome, localDirs, logs.resolve("master.log"), List.of(), "org.apache.spark.deploy.master.Master",
                    "--host", "127.0.0.1", "--port", String.valueOf(masterPort), "--webui-port", String.valueOf(freePort()));
            List<Process> workers = new ArrayList<>();
            for (int w = 0; w < 2; w++)
                workers.add(launch(sparkHome, localDirs, logs.resolve("worker" + w + ".log"), workerGpu,
                        "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1",
                        "--memory", "1g", "--work-dir", Files.createDirectories(dir.resolve("work" + w)).toString(),
                        "--webui-port", String.valueOf(freePort()), master));
            waitFor(logs.resolve("master.log"), "Registering worker", 2, m, 90);
            System.out.printf("SparkCluster: master and 2 workers up in %.1f s%n", (System.nanoTime() - c0) / 1e9);

            props.put("spark.master", master);
            props.put("spark.driver.host", "127.0.0.1");
            props.put("spark.driver.bindAddress", "127.0.0.1");
            props.put("spark.ui.enabled", "false");
            props.put("spark.jars", appJar.toString());
            props.put("spark.executor.memory", "512m");
            props.put("spark.executor.cores", "1");
            Path execTmp = Files.createDirectories(dir.resolve("executor-tmp"));
            props.put("spark.executor.extraJavaOptions", "--add-modules=jdk.incubator.vector -Dasymbp.cpu.threads=1"
                    + " -XX:+UseParallelGC -Djava.io.tmpdir=" + execTmp);
            props.put("spark.local.dir", localDirs.toString());
            props.put("spark.extraListeners", TaskWatch.class.getName());
            props.put("spark.executor.resource.gpu.amount", "1");
            props.put("spark.executor.resource.gpu.discoveryScript", gpus.toString());
            props.put("spark.task.resource.gpu.amount", "1");
            props.forEach(System::setProperty);
            TaskWatch.RUNNING.clear();
            TaskWatch.LOST.clear();

            Path out = dir.resolve("spark").resolve("run");
            StringWriter so = new StringWriter(), se = new StringWriter();
            int[] rc = {-1};
            Thread driver = new Thread(() -> rc[0] = cli(so, se, "grid", "run", gridFile.toString(), "--out",
                    out.toString(), "--spark"), "spark-driver");
            driver.setDaemon(true);
            long d0 = System.nanoTime();
            driver.start();

            // Kill (SIGKILL) an executor while it trains a cell that has checkpointed its first epoch, once
            // some cells are recorded and some are not. (Partition i is cell i: no cell was done before.)
            Path cellWork = execTmp.resolve("asymbp-grid-" + Integer.toHexString(out.toAbsolutePath().normalize().toString().hashCode()));
            String killed = null, killedCell = null;
            while (driver.isAlive() && killed == null) {
                Thread.sleep(20);
                long recorded = countResults(out);
                if (recorded < 1) continue;
                if (recorded >= cells.size()) break;
                for (var e : TaskWatch.RUNNING.entrySet()) {
                    CellSpec c = cells.get((int) e.getValue()[0]);
                    if (!Files.exists(cellWork.resolve(c.id()).resolve(asymbp.train.Checkpoint.FILE))) continue;
                    ProcessHandle exec = executor(workers, e.getKey());
                    if (exec == null) continue;
                    exec.destroyForcibly();
                    killed = e.getKey();
                    killedCell = c.id();
                    System.out.println("SparkCluster: killed executor " + killed + " (pid " + exec.pid() + ") training "
                            + c.id() + " after its first epoch, with " + recorded + " of " + cells.size() + " cells recorded");
                    break;
                }
            }
            driver.join(TimeUnit.SECONDS.toMillis(200));
            assertFalse(driver.isAlive(), "the Spark driver finished");
            System.out.printf("SparkCluster: grid on the cluster %.1f s%n%s", (System.nanoTime() - d0) / 1e9, so);
            assertNotNull(killed, "an executor was killed in the middle of the grid");
            assertEquals(Main.FAILED, rc[0], "the missing dataset's cells failed, so the exit status says so: " + se);
            String lostKilled = killed;
            assertTrue(TaskWatch.LOST.stream().anyMatch(l -> l.startsWith(lostKilled + ":")),
                    "Spark saw the killed executor's task fail and retried it: " + TaskWatch.LOST);

            // Every cell exactly once: one file each, one progress line each.
            List<CellResult> results = new ResultStore(out).readAll(s -> fail(s));
            assertEquals(cells.stream().map(CellSpec::id).collect(Collectors.toSet()),
                    results.stream().map(r -> r.cell().id()).collect(Collectors.toSet()));
            assertEquals(cells.size(), results.size());
            List<String> lines = Files.readAllLines(out.resolve("progress.log"));
            List<String> recordedLines = lines.stream().filter(l -> l.matches("\\[\\d+/16\\] .*")).collect(Collectors.toList());
            assertEquals(cells.size(), recordedLines.size(), "one progress line per cell: " + recordedLines);
            Set<String> labels = new HashSet<>();
            for (String l : recordedLines) assertTrue(labels.add(l.substring(l.indexOf("] ") + 2, l.indexOf(": "))), l);

            for (CellResult r : results) {
                if (r.cell().dataset().startsWith("idx:")) {
                    assertTrue(r.failed(), r.toString());
                    assertTrue(r.message().contains(missing.toString()), "the cell file names the missing dataset: " + r.message());
                } else {
                    assertTrue(r.ok(), r.toString());
                }
            }
            // Spark's resource scheduler handed each task its executor's GPU, which became the cell's device.
            String executorLogs;
            try (var files = Files.walk(dir.resolve("work0")); var files1 = Files.walk(dir.resolve("work1"))) {
                StringBuilder sb = new StringBuilder();
                for (Path p : java.util.stream.Stream.concat(files, files1).filter(p -> p.getFileName().toString().equals("stderr"))
                        .collect(Collectors.toList()))
                    sb.append(Files.readString(p));
                executorLogs = sb.toString();
            }
            assertTrue(executorLogs.contains("Spark assigned gpu 0 (the cell's device unless its backend is cpu)"),
                    "executors logged the assigned GPU address");
            assertTrue(executorLogs.contains(killedCell + ": resuming after epoch "),
                    "the retried task resumed the killed cell from its checkpoint (the table check below: bit for bit)");
            // The table equals the local one (wall times aside).
            assertEquals(withoutTimes(Files.readString(local.resolve("results.csv"))),
                    withoutTimes(Files.readString(out.resolve("results.csv"))));
            assertEquals(withoutTimes(Files.readString(local.resolve("results.md"))),
                    withoutTimes(Files.readString(out.resolve("results.md"))));
            assertFalse(Files.exists(cellWork), "no cell left work behind on the executors' machine");
            // Resuming works whichever way the grid ran: a local run on the Spark run's folder redoes only the
            // failed cells (and the driver released the folder's lock).
            StringWriter ro = new StringWriter(), re = new StringWriter();
            assertEquals(Main.FAILED, cli(ro, re, "grid", "run", gridFile.toString(), "--out", out.toString(),
                    "--no-report"), re.toString());
            assertTrue(ro.toString().contains("8 cells already done, 8 to run"), ro.toString());
        } finally {
            props.keySet().forEach(System::clearProperty);
            stopAll();
        }
    }

    private static long countResults(Path out) {
        Path cells = out.resolve("cells");
        if (!Files.isDirectory(cells)) return 0;
        try (var s = Files.list(cells)) {
            return s.filter(p -> p.toString().endsWith(".json")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    /** The executor JVM with Spark executor id {@code id}, a child of one of the workers. */
    private static ProcessHandle executor(List<Process> workers, String id) {
        for (Process w : workers)
            for (ProcessHandle h : w.descendants().collect(Collectors.toList())) {
                String cmd = h.info().commandLine().orElse("");
                if (cmd.contains("CoarseGrainedExecutorBackend") && cmd.matches(".*--executor-id " + Pattern.quote(id) + "( .*|$)"))
                    return h;
            }
        return null;
    }

    /** The CSV's wall_seconds column and the Markdown's summed wall time blanked. */
    static String withoutTimes(String s) {
        if (s.startsWith("id,")) {
            List<String> out = new ArrayList<>();
            List<String> header = List.of(s.lines().findFirst().orElseThrow().split(","));
            int col = header.indexOf("wall_seconds");
            assertTrue(col >= 0);
            for (String line : s.lines().collect(Collectors.toList())) {
                // Fields before wall_seconds hold no quoted commas (ids, names, numbers).
                String[] f = line.split(",", col + 2);
                if (f.length > col) f[col] = "";
                out.add(String.join(",", f));
            }
            return String.join("\n", out);
        }
        Matcher m = Pattern.compile("Summed cell wall time [^.]*\\.").matcher(s);
        return m.replaceAll("");
    }

    /** A SPARK_HOME whose jars/ links every jar of this test's class path. */
    private static Path sparkHome(Path home) throws IOException {
        Path jars = Files.createDirectories(home.resolve("jars"));
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        int n = 0;
        for (String e : cp.split(File.pathSeparator)) {
            Path p = Path.of(e);
            if (!e.endsWith(".jar") || !Files.isRegularFile(p) || p.getFileName().toString().startsWith("surefire")) continue;
            Path link = jars.resolve(p.getFileName());
            if (Files.exists(link)) link = jars.resolve((n++) + "-" + p.getFileName());
            Files.createSymbolicLink(link, p.toAbsolutePath());
        }
        try (var s = Files.list(jars)) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("spark-core_2.13")),
                    "spark-core is on the test class path (a provided dependency)");
        }
        return home;
    }

    /** The application jar: this build's main classes and resources (target/classes). */
    private static Path appJar(Path jar) throws Exception {
        Path classes = Path.of(GridSpec.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(classes), "main classes in a folder: " + classes);
        try (OutputStream os = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(os);
             var files = Files.walk(classes)) {
            for (Path p : files.filter(Files::isRegularFile).sorted().collect(Collectors.toList())) {
                j.putNextEntry(new ZipEntry(classes.relativize(p).toString().replace(File.separatorChar, '/')));
                Files.copy(p, j);
                j.closeEntry();
            }
        }
        return jar;
    }

    private Process launch(Path sparkHome, Path localDirs, Path log, List<String> jvmOptions, String mainClass,
                           String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", sparkHome.resolve("jars") + File.separator + "*", mainClass));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
        Map<String, String> env = pb.environment();
        env.put("SPARK_HOME", sparkHome.toString());
        env.put("SPARK_SCALA_VERSION", "2.13");     // else executors fail: "Cannot find any build directories"
        env.put("SPARK_LOCAL_IP", "127.0.0.1");
        env.put("SPARK_LOCAL_DIRS", localDirs.toString());
        env.put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        started.add(p);
        return p;
    }

    private static void waitFor(Path log, String text, int times, Process p, int seconds) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < end) {
            if (Files.exists(log)) {
                String s = Files.readString(log);
                int n = 0;
                for (int i = s.indexOf(text); i >= 0; i = s.indexOf(text, i + 1)) n++;
                if (n >= times) return;
            }
            if (!p.isAlive()) fail(log + ": the process ended:\n" + Files.readString(log));
            Thread.sleep(200);
        }
        fail(log + ": no '" + text + "' x" + times + " within " + seconds + " s:\n" + Files.readString(log));
    }

    /** Ends every process started here, their children (executors) included: politely, then by force. */
    private void stopAll() throws InterruptedException {
        List<ProcessHandle> all = new ArrayList<>();
        for (Process p : started) {
            all.addAll(p.descendants().collect(Collectors.toList()));
            all.add(p.toHandle());
        }
        for (ProcessHandle h : all) h.destroy();
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (ProcessHandle h : all) {
            while (h.isAlive() && System.nanoTime() < end) Thread.sleep(50);
            if (h.isAlive()) h.destroyForcibly();
        }
        for (ProcessHandle h : all) {
            try {
                h.onExit().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.out.println("SparkCluster: pid " + h.pid() + " did not end: " + e);
            }
        }
        started.clear();
    }
}
