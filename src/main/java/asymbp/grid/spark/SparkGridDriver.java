package asymbp.grid.spark;

import asymbp.data.Dataset;
import asymbp.grid.CellResult;
import asymbp.grid.CellSpec;
import asymbp.grid.GridRunner;
import asymbp.grid.GridSpec;
import asymbp.grid.ResultStore;
import asymbp.grid.TrainerCellRunner;
import asymbp.io.FolderLock;
import asymbp.io.Json;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.spark.SparkConf;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.resource.ResourceInformation;
import scala.runtime.AbstractFunction2;
import scala.runtime.BoxedUnit;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * Runs a grid's cells as Apache Spark tasks, one cell per task. The driver (this JVM, under spark-submit)
 * holds the output folder's lock, decides which cells are left exactly as a local run does, and writes
 * each result through the same {@link ResultStore} as the task that ran it reports back — so {@code grid
 * report} and resuming work whichever way a grid ran. A task lost with its executor is retried by Spark;
 * the driver hears of each partition's result once, so each cell is recorded once.
 *
 * <p>GPU-aware: when Spark assigns the task a {@code gpu} resource ({@code spark.task.resource.gpu.amount=1}),
 * its address becomes the cell's device. On the executor a cell keeps its checkpoints under the
 * executor's temporary folder, so a task retried on the same machine resumes from its last epoch.
 */
public final class SparkGridDriver {
    private SparkGridDriver() {}

    static final ObjectMapper JSON = Json.MAPPER;

    /** Runs the cells of {@code grid} without a finished result in {@code outDir} on the Spark cluster. */
    public static GridRunner.Summary run(GridSpec grid, Path outDir, GridRunner runner) throws IOException {
        ResultStore store = new ResultStore(outDir);
        Files.createDirectories(store.dir());
        List<CellSpec> cells = grid.cells();
        List<CellSpec> todo = runner.todo(cells, store);
        GridRunner.Tally tally = runner.start(grid, outDir, cells.size(), todo.size());
        if (todo.isEmpty()) return tally.summary();
        List<String> payload = new ArrayList<>();
        for (CellSpec c : todo) payload.add(JSON.writeValueAsString(c));

        SparkConf conf = new SparkConf().setAppName("asymbp grid " + grid.name());
        try (JavaSparkContext sc = new JavaSparkContext(conf)) {
            sc.setLogLevel(conf.get("spark.asymbp.logLevel", "WARN"));
            JavaRDD<String> rdd = sc.parallelize(payload, payload.size());
            String key = Integer.toHexString(outDir.toAbsolutePath().normalize().toString().hashCode());
            sc.sc().runJob(rdd.rdd(), new CellTask(key), new Record(store, tally),
                    scala.reflect.ClassTag$.MODULE$.apply(String.class));
        }
        return tally.summary();
    }

    /** On the driver: each finished task's result, written atomically and counted. */
    private static final class Record extends AbstractFunction2<Object, String, BoxedUnit> implements Serializable {
        private final transient ResultStore store;
        private final transient GridRunner.Tally tally;

        Record(ResultStore store, GridRunner.Tally tally) {
            this.store = store;
            this.tally = tally;
        }

        @Override public BoxedUnit apply(Object partition, String json) {
            CellResult r;
            try {
                r = JSON.readValue(json, CellResult.class);
                store.write(r);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot record the result of partition " + partition, e);
            }
            tally.add(r, r.wallSeconds());
            return BoxedUnit.UNIT;
        }
    }

    /** On an executor: trains one cell and returns its result as JSON (a failure is a failed result). */
    static final class CellTask extends AbstractFunction2<TaskContext, scala.collection.Iterator<String>, String>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        /** Datasets stay loaded in an executor between its tasks. */
        private static final Map<String, Dataset> DATASETS = new ConcurrentHashMap<>();
        /** One runner (and so one backend instance) per executor thread and device. */
        private static final ThreadLocal<Map<Integer, TrainerCellRunner>> RUNNERS = ThreadLocal.withInitial(HashMap::new);

        private final String gridKey;

        CellTask(String gridKey) { this.gridKey = gridKey; }

        @Override public String apply(TaskContext ctx, scala.collection.Iterator<String> it) {
            try {
                CellSpec cell = JSON.readValue(it.next(), CellSpec.class);
                int device = assignedGpu(ctx);
                TrainerCellRunner runner = RUNNERS.get().computeIfAbsent(device, d -> new TrainerCellRunner(DATASETS, d));
                Consumer<String> log = line -> System.err.println("[cell " + cell.id() + ", attempt "
                        + ctx.attemptNumber() + "] " + line);
                if (device >= 0) log.accept("Spark assigned gpu " + device + " (the cell's device unless its backend is cpu)");
                // A retried task on this machine resumes from the cell's last checkpoint; should another
                // attempt still hold that folder (speculative execution), this one starts in its own.
                Path work = Path.of(System.getProperty("java.io.tmpdir"), "asymbp-grid-" + gridKey, cell.id());
                FolderLock lock;
                try {
                    lock = FolderLock.acquire(work, "grid cell, Spark attempt " + ctx.attemptNumber());
                } catch (FolderLock.HeldException e) {
                    work = work.resolveSibling(cell.id() + "-attempt-" + ctx.taskAttemptId());
                    lock = FolderLock.acquire(work, "grid cell, Spark attempt " + ctx.attemptNumber());
                }
                CellResult r;
                try (FolderLock held = lock) {
                    r = GridRunner.runCell(runner, cell, work, log);
                    // Under the lock: once it is released another attempt may take the folder, and a
                    // removal then would delete it under that attempt, which writes on into a dead folder.
                    GridRunner.clearWork(work, r);
                }
                try { Files.deleteIfExists(work.getParent()); } catch (IOException notEmpty) { /* other cells' */ }
                return JSON.writeValueAsString(r);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The task's GPU address when Spark assigned one, else -1 (the cell's own device). */
        static int assignedGpu(TaskContext ctx) { return gpuAddress(ctx.resourcesJMap().get("gpu")); }

        /** The device number of a {@code gpu} resource (its first address), -1 for none. */
        static int gpuAddress(ResourceInformation gpu) {
            if (gpu == null || gpu.addresses().length == 0) return -1;
            try {
                return Integer.parseInt(gpu.addresses()[0].trim());
            } catch (NumberFormatException e) {
                throw new IllegalStateException("Spark assigned GPU address '" + gpu.addresses()[0]
                        + "', expected a device number");
            }
        }
    }
}
