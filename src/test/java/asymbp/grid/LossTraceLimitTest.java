package asymbp.grid;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A cell keeps at most CellResult.TRACE_LIMIT loss-trace points; longer traces merge into wider windows. */
class LossTraceLimitTest {
    private static SplittableRandom random() {
        long seed = Long.getLong("asymbp.seed", System.nanoTime());
        System.out.println("LossTraceLimitTest: seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        return new SplittableRandom(seed);
    }

    /** n windows over `epochs` epochs, 26 per epoch as TrainerCellRunner makes them for LeNet (25 of 37 steps, then the rest). */
    private static List<CellResult.TracePoint> trace(int epochs, SplittableRandom r) {
        List<CellResult.TracePoint> t = new ArrayList<>();
        for (int e = 0; e < epochs; e++) {
            for (int w = 1; w <= 25; w++) t.add(new CellResult.TracePoint(e + w * 37 / 938.0, 0.1 + r.nextDouble()));
            t.add(new CellResult.TracePoint(e + 1, 0.1 + r.nextDouble()));
        }
        return t;
    }

    @Test
    void shortTracesAreKeptAsTheyAre() {
        List<CellResult.TracePoint> t = trace(19, random());   // 494 points
        assertEquals(t, CellResult.thin(t, CellResult.TRACE_LIMIT));
        List<CellResult.TracePoint> exactly = t.subList(0, 3);
        assertEquals(exactly, CellResult.thin(exactly, 3));
        assertEquals(List.of(), CellResult.thin(List.of(), 3));
    }

    @Test
    void longTracesMergeRunsWeightedBySpan() {
        SplittableRandom r = random();
        List<CellResult.TracePoint> t = trace(100, r);   // 2600 points: runs of 6, 434 points
        List<CellResult.TracePoint> thin = CellResult.thin(t, CellResult.TRACE_LIMIT);
        assertEquals(434, thin.size());
        double before = 0;
        for (int k = 0; k < thin.size(); k++) {
            int end = Math.min(t.size(), 6 * k + 6);
            double start = before, sum = 0;
            for (int j = 6 * k; j < end; j++) {
                sum += t.get(j).loss() * (t.get(j).epoch() - before);
                before = t.get(j).epoch();
            }
            assertEquals(t.get(end - 1).epoch(), thin.get(k).epoch(), "point " + k + " ends where its last window ends");
            assertEquals(sum / (before - start), thin.get(k).loss(), 1e-15 * thin.get(k).loss(), "point " + k);
        }
        assertEquals(100.0, thin.get(thin.size() - 1).epoch());
        // one point over the limit: pairs
        List<CellResult.TracePoint> five = List.of(new CellResult.TracePoint(1, 2), new CellResult.TracePoint(2, 4),
                new CellResult.TracePoint(5, 1), new CellResult.TracePoint(6, 3), new CellResult.TracePoint(6.5, 7));
        List<CellResult.TracePoint> pairs = CellResult.thin(five, 4);
        assertEquals(List.of(new CellResult.TracePoint(2, 3), new CellResult.TracePoint(6, (1 * 3 + 3 * 1) / 4.0),
                new CellResult.TracePoint(6.5, 7)), pairs);
        // windows that do not advance (span 0) keep the run's last loss instead of 0/0
        List<CellResult.TracePoint> flat = List.of(new CellResult.TracePoint(0, 2), new CellResult.TracePoint(0, 4));
        assertEquals(List.of(new CellResult.TracePoint(0, 4)), CellResult.thin(flat, 1));
    }

    @Test
    void everyCellResultHoldsAtMostTheLimit() {
        CellSpec c = Synthetic.cell("mnist", "usf", "none", 1);
        CellResult res = new CellResult(c, CellResult.OK, null, 1.0, List.of(), trace(100, random()), List.of(), 1, "cpu", "now");
        assertTrue(res.lossTrace().size() <= CellResult.TRACE_LIMIT, "points: " + res.lossTrace().size());
    }

    @Test
    void compactRewritesOnlyCellFilesNotAsWrittenToday(@TempDir Path dir) throws Exception {
        SplittableRandom r = random();
        ResultStore store = new ResultStore(dir);
        CellSpec longCell = Synthetic.cell("mnist", "usf", "none", 1), shortCell = Synthetic.cell("mnist", "bp", "none", 1),
                indentedCell = Synthetic.cell("mnist", "frsf", "none", 1);
        List<CellResult.TracePoint> full = trace(100, r);
        CellResult thinResult = new CellResult(longCell, CellResult.OK, null, 1.25, List.of(), full, List.of(), 7, "cpu", "then");
        store.write(Synthetic.ok(shortCell, 0.9));
        // a cell file as an older engine wrote it: the whole 2,600-point trace
        Files.createDirectories(store.dir());
        com.fasterxml.jackson.databind.node.ObjectNode old = ResultStore.JSON.valueToTree(thinResult);
        com.fasterxml.jackson.databind.node.ArrayNode points = old.putArray("loss_trace");
        for (CellResult.TracePoint p : full) points.add(ResultStore.JSON.valueToTree(p));
        Files.write(store.file(longCell), ResultStore.JSON.writeValueAsBytes(old));
        // a short cell as an older engine wrote it: indented
        CellResult indented = Synthetic.ok(indentedCell, 1.5);
        Files.write(store.file(indentedCell), ResultStore.JSON.writeValueAsBytes(indented));
        Files.writeString(store.dir().resolve("broken.json"), "{\"cell\": ");
        byte[] shortBefore = Files.readAllBytes(store.file(shortCell));
        long bigBefore = Files.size(store.file(longCell));

        long indentedBefore = Files.size(store.file(indentedCell));

        assertEquals(2, store.compact());
        assertArrayEquals(shortBefore, Files.readAllBytes(store.file(shortCell)), "a file as written today is not rewritten");
        assertEquals(1, Files.readAllLines(store.file(shortCell)).size(), "a cell file is one line");
        assertEquals(indented, ResultStore.readResult(store.file(indentedCell)));
        assertTrue(Files.size(store.file(indentedCell)) < indentedBefore, "indentation dropped");
        assertEquals("{\"cell\": ", Files.readString(store.dir().resolve("broken.json")));
        assertTrue(Files.size(store.file(longCell)) < bigBefore / 3, Files.size(store.file(longCell)) + " of " + bigBefore);
        assertEquals(thinResult, ResultStore.readResult(store.file(longCell)), "everything else unchanged, the trace thinned");
        assertEquals(0, store.compact(), "a second pass has nothing to do");
    }
}
