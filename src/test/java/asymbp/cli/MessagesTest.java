package asymbp.cli;

import asymbp.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static asymbp.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** Issue 12, item 4: clear messages, checks before work, the documented exit codes, JSON numbers. */
class MessagesTest {

    @Test
    void noCommandIsAUsageError() {
        MainTest.Run r = run();
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("train"), r.err());
    }

    @Test
    void anUnusableOutIsRefusedBeforeTheDataIsRead(@TempDir Path tmp) throws Exception {
        // The data spec is broken too: the --out problem must be found first (exit 2, not the data's 1).
        String badData = "idx:" + tmp.resolve("no-such-data");
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc")), "needs Linux /proc (a folder nobody can create in)");
        MainTest.Run r = run("train", "--dataset", badData, "--backend", "cpu", "--out", "/proc/asymbp_run");
        assertEquals(2, r.code(), r.err());
        String err = r.err().strip();
        assertTrue(err.contains("/proc/asymbp_run: "), err);
        assertFalse(err.endsWith("/proc/asymbp_run"), "the reason, not only the path: " + err);

        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        r = run("train", "--dataset", badData, "--backend", "cpu", "--out", file.toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(file.toString()) && r.err().contains("not a folder"), r.err());

        Path ro = Files.createDirectories(tmp.resolve("read-only"));
        assertTrue(ro.toFile().setWritable(false, false));
        try {
            if (Files.isWritable(ro)) {
                System.out.println("read-only --out not checked: this user (root?) may write a read-only folder");
            } else {
                r = run("train", "--dataset", badData, "--backend", "cpu", "--out", ro.toString());
                assertEquals(2, r.code(), r.err());
                assertTrue(r.err().contains(ro.toString()) && r.err().contains("permission denied"), r.err());
            }
        } finally {
            ro.toFile().setWritable(true, false);
        }
    }

    @Test
    void limitsAndScheduleOutsideTheRunAreBadValues(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 200, 40, 8);
        String[][] cases = {{"--limit", "0", "--limit 0"}, {"--limit", "500", "--limit 500"},
                {"--lr-steps", "3", "--lr-steps 3"}};
        int i = 0;
        for (String[] c : cases) {
            Path out = tmp.resolve("o" + i++);
            MainTest.Run r = run("train", "--dataset", data, "--model", "mlp:8", "--epochs", "2", "--backend", "cpu",
                    "-q", c[0], c[1], "--out", out.toString());
            assertEquals(2, r.code(), c[2] + ": " + r.out() + r.err());
            assertTrue(r.err().contains(c[2]), r.err());
            assertFalse(Files.exists(out.resolve("result.json")));
        }
    }

    @Test
    void aDatasetWithoutTestImagesIsRefused(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 100, 0, 9);
        Path out = tmp.resolve("o");
        MainTest.Run r = run("train", "--dataset", data, "--model", "mlp:8", "--backend", "cpu", "-q", "--out", out.toString());
        assertEquals(1, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("no test images"), r.err());
        assertFalse(Files.exists(out.resolve("result.json")));
    }

    @Test
    void divergenceSaysWhatWasKeptAndReportsNumbers(@TempDir Path dir) throws Exception {
        // Diverges at step 5 of epoch 1: no epoch finished, so there is no checkpoint to keep.
        MainTest.Run r = run("train", "--limit", "2000", "--feedback", "usf", "--update", "sgd", "--no-bn",
                "--lr", "0.0005", "--epochs", "2", "--backend", "cpu", "--out", dir.toString());
        assertEquals(3, r.code(), r.out() + r.err());
        assertFalse((r.out() + r.err()).contains("kept"), r.out() + r.err());
        assertTrue(r.err().contains("no checkpoint was written"), r.err());
        assertFalse(Files.exists(dir.resolve("checkpoint.npz")));
        JsonNode j = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        assertTrue(j.get("diverged_loss").isNumber() || j.get("diverged_loss").isNull(), j.get("diverged_loss").toString());
        assertTrue(j.get("diverged_cause").isTextual(), j.toString());
        assertEquals("diverged", j.get("status").asText());
        assertNoTextualNumbers(j, "");
    }

    @Test
    void resultHoldsTheValuesUsedAsNumbers(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 200, 40, 10);
        Path out = tmp.resolve("o");
        MainTest.Run r = run("train", "--dataset", data, "--model", "mlp:16", "--feedback", "fa", "--batch", "20",
                "--backend", "cpu", "-q", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        JsonNode j = Json.MAPPER.readTree(out.resolve("result.json").toFile());
        JsonNode used = j.get("resolved");
        assertEquals(100 * Math.log(4), used.get("diverge_bound").asDouble(), 1e-9);
        // fa's σ defaults to each layer's initialisation std: (1/√fan_in)/√3.
        assertEquals(1 / Math.sqrt(64) / Math.sqrt(3), used.get("fa_sigma").get("fc1").asDouble(), 1e-6);
        assertEquals(1 / Math.sqrt(16) / Math.sqrt(3), used.get("fa_sigma").get("fc2").asDouble(), 1e-6);
        assertEquals(1, used.get("input_mean").size());
        double mean = used.get("input_mean").get(0).asDouble(), std = used.get("input_std").get(0).asDouble();
        assertTrue(mean > 0.1 && mean < 0.9 && std > 0.05 && std < 0.5, used.toString());
        assertNoTextualNumbers(j, "");
    }

    /** No value anywhere is a number written as a string ("NaN", "562.2204", "Infinity"); the command line's words aside. */
    static void assertNoTextualNumbers(JsonNode n, String path) {
        if (path.equals(".run.command_line")) return;
        if (n.isTextual()) {
            String t = n.asText();
            assertFalse(t.matches("[-+]?(NaN|Infinity|\\d+(\\.\\d+)?([eE][-+]?\\d+)?)"), path + " is a number as a string: " + t);
        }
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        for (String k : names) assertNoTextualNumbers(n.get(k), path + "." + k);
        if (n.isArray()) for (int i = 0; i < n.size(); i++) assertNoTextualNumbers(n.get(i), path + "[" + i + "]");
    }
}
