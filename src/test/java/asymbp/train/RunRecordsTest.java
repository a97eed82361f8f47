package asymbp.train;

import asymbp.backend.Backend;
import asymbp.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Issue 12, item 5: train.log, metrics.csv and result.json are written as the run goes. */
class RunRecordsTest {

    static final TrainConfig CFG = TrainerTest.small().withEpochs(3).withFeedback("usf");

    @Test
    void recordsAreWrittenAfterEveryEpoch(@TempDir Path dir) throws Exception {
        List<String> seen = new ArrayList<>();
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, TrainerTest.SMALL, CFG)) {
            t.setRunInfo(RunInfo.of(List.of("asymbp", "train", "--epochs", "3")));
            t.setLog(line -> {
                // Epoch 2's line comes before its records: what is on disk then is epoch 1's.
                if (!line.startsWith("epoch   2")) return;
                try {
                    List<String> csv = Files.readAllLines(dir.resolve("metrics.csv"));
                    assertEquals(2, csv.size(), "header and epoch 1: " + csv);
                    JsonNode j = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
                    assertEquals("running", j.get("status").asText());
                    assertEquals(1, j.get("epochs").asInt());
                    assertTrue(j.get("test_error").isNull(), "no final test error while running");
                    assertTrue(Files.readString(dir.resolve("train.log")).contains("epoch   1"));
                    seen.add(line);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            t.run(dir);
        }
        assertEquals(1, seen.size(), "the records were looked at during epoch 2");
        List<String> csv = Files.readAllLines(dir.resolve("metrics.csv"));
        assertEquals(4, csv.size(), String.join("\n", csv));
        String[] head = csv.get(0).split(",");
        assertEquals(List.of("epoch", "loss", "train_error", "test_error", "lr", "seconds", "images", "images_per_second",
                "images_per_second_steady", "weight_angle_fc1", "error_angle_fc1"), List.of(head).subList(0, 11));
        for (int e = 1; e <= 3; e++) {
            String[] row = csv.get(e).split(",", -1);
            assertEquals(head.length, row.length, csv.get(e));
            assertEquals(String.valueOf(e), row[0]);
            assertEquals("200", row[6], "images of epoch " + e);
            for (int k = 1; k < row.length; k++) Double.parseDouble(row[k]); // every field a number
        }
        JsonNode j = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        assertEquals("finished", j.get("status").asText());
        assertTrue(j.get("finished_at").isTextual() && j.get("started_at").isTextual(), j.toString());
        JsonNode run = j.get("run");
        assertEquals(List.of("asymbp", "train", "--epochs", "3"),
                Json.MAPPER.convertValue(run.get("command_line"), List.class));
        for (String k : List.of("version", "git_commit", "host", "os", "java"))
            assertFalse(run.get(k).asText().isBlank(), k + " in " + run);
        assertTrue(j.get("images_per_second_steady").isNumber(), j.toString());
        String log = Files.readString(dir.resolve("train.log"));
        assertTrue(log.contains("command: asymbp train --epochs 3") && log.contains("epoch   3") && log.contains("finished"), log);
    }

    @Test
    void aResumedRunKeepsItsRecords(@TempDir Path dir) throws Exception {
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, TrainerTest.SMALL, CFG.withEpochs(1))) {
            t.run(dir);
        }
        Double firstWall = Checkpoint.readHeader(dir.resolve(Checkpoint.FILE)).wallSeconds();
        assertNotNull(firstWall, "the checkpoint records the run's wall time so far");
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, TrainerTest.SMALL, CFG.withEpochs(2).withResume(true))) {
            t.run(dir);
        }
        JsonNode j = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        // The run's wall time is both invocations': the first up to its checkpoint, and this one.
        assertEquals(firstWall + j.get("wall_seconds").asDouble(), j.get("wall_seconds_total").asDouble(), 0.01, j.toString());
        assertTrue(firstWall > 0 && Checkpoint.readHeader(dir.resolve(Checkpoint.FILE)).wallSeconds() > firstWall);
        assertEquals(2, j.get("epochs").asInt());
        assertEquals(1, j.get("resumed_from_epoch").asInt());
        assertTrue(j.get("images_per_second").asDouble() > 0, "throughput over the whole history: " + j.get("images_per_second"));
        assertEquals(3, Files.readAllLines(dir.resolve("metrics.csv")).size());
        assertTrue(Files.readString(dir.resolve("train.log")).contains("resumed at epoch 1"));

        // Resuming the finished run changes nothing, and its throughput is not reset to 0.
        byte[] before = Files.readAllBytes(dir.resolve("result.json"));
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, TrainerTest.SMALL, CFG.withEpochs(2).withResume(true))) {
            RunResult r = t.run(dir);
            assertTrue(r.imagesPerSecond() > 0);
        }
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("result.json")));
    }
}
