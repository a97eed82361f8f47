package asymbp.grid;

import asymbp.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 12, item 7: cell files in snake_case as every other file; the older camelCase ones still read. */
class CellFileNamingTest {

    @Test
    void cellFilesAreSnakeCaseAndReadBack(@TempDir Path tmp) throws Exception {
        long seed = Long.getLong("asymbp.seed", System.nanoTime());
        System.out.println("CellFileNamingTest seed " + seed + " (-Dasymbp.seed=" + seed + " reproduces)");
        Random rnd = new Random(seed);
        CellSpec cell = new CellSpec("mnist", "mlp:8", "fa", "bn", 3, 2, 32, 0.01 + rnd.nextDouble(), 0.9,
                rnd.nextDouble() * 1e-3, List.of(1), 0.5, 100, "cpu", 0, "xavier", asymbp.model.FbScale.of(0.5), "halfnormal", 0.0, true,
                0.0, 16, null, "fb_scale=0.5");
        CellResult r = new CellResult(cell, CellResult.OK, null, 10 * rnd.nextDouble(),
                List.of(new CellResult.EpochRecord(1, rnd.nextDouble(), 50.0, 40.0, 0.01, 1.5)),
                List.of(new CellResult.TracePoint(0.5, 2.0)),
                List.of(new CellResult.Alignment(1, 0, "fc1", 80.0, 70.0)), 3.5, "cpu", "2026-12-06T09:00:00Z");
        ResultStore store = new ResultStore(tmp);
        store.write(r);
        JsonNode j = Json.MAPPER.readTree(store.file(cell).toFile());
        assertTrue(j.has("test_error") && j.get("cell").has("weight_decay") && j.get("cell").has("lr_steps"), j.toString());
        assertNoCamelCaseKey(j, "");
        assertEquals(r, store.read(cell).orElseThrow());
    }

    /** Two cell files as the engine wrote them before snake_case (from results/paper-mnist-fmnist at cdbbd5b). */
    static final Path LEGACY = Path.of("src/test/resources/legacy-cells");

    @Test
    void olderCamelCaseCellFilesReadTheSame() throws Exception {
        Path cells = LEGACY.resolve("cells");
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(cells, "*.json")) { ds.forEach(files::add); }
        assertEquals(2, files.size(), "the legacy fixtures under " + cells);
        List<CellResult> all = new ResultStore(LEGACY).readAll(w -> fail(w));
        assertEquals(files.size(), all.size());
        for (CellResult r : all) assertSameAsRaw(r, Json.MAPPER.readTree(cells.resolve(r.cell().id() + ".json").toFile()));
        assertTrue(all.stream().anyMatch(r -> r.testError() == null), "a diverged cell among them (null test error)");
    }

    @Test
    void compactRewritesACamelCaseFileAsTodaysWithTheSameContent(@TempDir Path tmp) throws Exception {
        Files.createDirectories(tmp.resolve("cells"));
        for (String f : List.of("mnist__lenet__usf__bn-bm__s1.json", "fashion-mnist__lenet__usf__none__s1.json"))
            Files.copy(LEGACY.resolve("cells").resolve(f), tmp.resolve("cells").resolve(f));
        ResultStore store = new ResultStore(tmp);
        List<CellResult> before = store.readAll(w -> fail(w));
        assertEquals(2, store.compact());
        assertEquals(before, store.readAll(w -> fail(w)));
        for (CellResult r : before) {
            List<String> lines = Files.readAllLines(store.file(r.cell()));
            assertEquals(1, lines.size(), "one line");
            assertNoCamelCaseKey(Json.MAPPER.readTree(lines.get(0)), "");
        }
        assertEquals(0, store.compact());
    }

    private static void assertSameAsRaw(CellResult r, JsonNode raw) {
        assertTrue(raw.has("testError"), "a camelCase file: " + r.cell().id());
        if (raw.get("testError").isNull()) assertNull(r.testError());
        else assertEquals(raw.get("testError").asDouble(), r.testError());
        assertEquals(raw.get("cell").get("weightDecay").asDouble(), r.cell().weightDecay());
        assertEquals(raw.get("wallSeconds").asDouble(), r.wallSeconds());
        assertEquals(raw.get("epochs").size(), r.epochs().size());
        for (int i = 0; i < r.epochs().size(); i++)
            assertEquals(raw.get("epochs").get(i).get("trainLoss").asDouble(), r.epochs().get(i).trainLoss());
        assertEquals(raw.get("alignment").size(), r.alignment().size());
        if (!r.alignment().isEmpty())
            assertEquals(raw.get("alignment").get(0).get("angleVW").asDouble(), r.alignment().get(0).angleVW());
    }

    private static void assertNoCamelCaseKey(JsonNode n, String path) {
        n.fieldNames().forEachRemaining(k -> assertFalse(k.matches(".*[A-Z].*"), path + "." + k + " is camelCase"));
        n.fields().forEachRemaining(e -> assertNoCamelCaseKey(e.getValue(), path + "." + e.getKey()));
        if (n.isArray()) for (int i = 0; i < n.size(); i++) assertNoCamelCaseKey(n.get(i), path + "[" + i + "]");
    }
}
