package asymbp.grid.spark;

import org.apache.spark.resource.ResourceInformation;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 13: the parts of the Spark grid that need no cluster — the implied --spark, and the GPU Spark assigns a task. */
class SparkGridMutationTest {

    private static List<String> spark(String... args) { return List.of(SparkGrid.withSpark(args)); }

    @Test
    void sparkIsAddedOnlyToAGridRunThatLacksIt() {
        assertEquals(List.of("grid", "run", "--spark"), spark("grid", "run"));
        assertEquals(List.of("grid", "run", "--spark", "--out", "d", "g.yaml"), spark("grid", "run", "--out", "d", "g.yaml"));
        assertEquals(List.of("grid", "run", "--spark", "g.yaml"), spark("grid", "run", "--spark", "g.yaml"));
        assertEquals(List.of("grid"), spark("grid"));
        assertEquals(List.of(), spark());
        assertEquals(List.of("train", "run"), spark("train", "run"));
        assertEquals(List.of("grid", "report", "run"), spark("grid", "report", "run"));
    }

    @Test
    void theTasksGpuIsItsFirstAssignedAddress() {
        assertEquals(-1, SparkGridDriver.CellTask.gpuAddress(null), "no gpu resource: the cell's own device");
        assertEquals(-1, SparkGridDriver.CellTask.gpuAddress(new ResourceInformation("gpu", new String[0])));
        assertEquals(0, SparkGridDriver.CellTask.gpuAddress(new ResourceInformation("gpu", new String[] {"0"})));
        assertEquals(3, SparkGridDriver.CellTask.gpuAddress(new ResourceInformation("gpu", new String[] {" 3 ", "1"})));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SparkGridDriver.CellTask.gpuAddress(new ResourceInformation("gpu", new String[] {"GPU-5f3a"})));
        assertEquals("Spark assigned GPU address 'GPU-5f3a', expected a device number", e.getMessage());
    }
}
