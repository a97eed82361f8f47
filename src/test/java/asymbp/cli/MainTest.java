package asymbp.cli;

import asymbp.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class MainTest {

    record Run(int code, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Run(code, out.toString(), err.toString());
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource(delimiter = '|', value = {
            "--feedback | xyz",
            "--feedback | psf:1.5",
            "--feedback | psf:-0.1",
            "--feedback | psf:abc",
            "--lr | -0.1",
            "--lr | 0",
            "--batch | 0",
            "--batch | -3",
            "--batch | x",
            "--epochs | 0",
            "--dataset | nosuchset",
            "--model | resnet",
            "--model | mlp:10-0",
            "--model | mlp:",
            "--update | adam",
            "--backend | tpu",
            "--momentum | 1.5",
            "--weight-decay | -1",
            "--lr-steps | 5,3",
            "--lr-factor | 0",
            "--fb-scale | -1",
            "--fb-scale | xavierx",
            "--fb-magnitude | cauchy",
            "--fa-sigma | -2",
            "--diverge-bound | -1",
            "--limit | -5",
            "--device | -1",
            "--weight-init | he",
            "--no-such-flag | 1"})
    void badFlagFailsBeforeAnyWorkWithOneLineAndCode2(String flag, String value, @TempDir Path dir) {
        Path out = dir.resolve("run");
        Run r = flag.equals("--backend") ? run("train", flag, value, "--out", out.toString())
                : run("train", flag, value, "--out", out.toString(), "--backend", "cpu");
        assertEquals(2, r.code(), "exit code for " + flag + " " + value + "; stderr: " + r.err());
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "one line expected, got:\n" + err);
        assertTrue(err.contains(flag), "message must name " + flag + ": " + err);
        assertTrue(err.contains(value), "message must name the value " + value + ": " + err);
        assertFalse(err.contains("Exception") || err.contains("\tat "), "no stack trace: " + err);
        assertFalse(Files.exists(out), "no work (not even the output directory) before the flags are checked");
    }

    @Test
    void resumeWithoutCheckpointIsAUsageError(@TempDir Path dir) {
        Run r = run("train", "--resume", "--out", dir.toString(), "--backend", "cpu");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--resume") && r.err().contains("checkpoint"), r.err());
    }

    @Test
    void unreadableDataNamesTheFile(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-dir");
        Run r = run("train", "--dataset", "idx:" + missing, "--out", dir.resolve("o").toString(), "--backend", "cpu");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains(missing.toString()), r.err());
        assertFalse(r.err().contains("\tat "), r.err());
    }

    @Test
    void divergedRunExitsWith3AndSaysSo(@TempDir Path dir) throws Exception {
        // The paper's finding 4: uSF with plain SGD and no BN blows up within a few steps.
        Run r = run("train", "--limit", "2000", "--feedback", "usf", "--update", "sgd", "--no-bn",
                "--lr", "0.0005", "--epochs", "2", "--backend", "cpu", "-q", "--out", dir.toString());
        assertEquals(3, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("DIVERGED"), r.err());
        JsonNode json = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        assertTrue(json.get("diverged").asBoolean());
        assertTrue(json.get("test_error").isNull());
    }

    @Test
    void shortRunWritesResultCheckpointAndWeights(@TempDir Path dir) throws Exception {
        Run r = run("train", "--limit", "2000", "--model", "mlp:64-32", "--epochs", "2", "--backend", "cpu",
                "--feedback", "frsf", "--update", "bm", "--lr", "0.001",
                "--lr-steps", "1", "--out", dir.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        long epochLines = Arrays.stream(r.out().split("\n")).filter(l -> l.startsWith("epoch")).count();
        assertEquals(2, epochLines, r.out());
        JsonNode j = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        for (String k : List.of("test_error", "images_per_second", "diverged", "epochs", "config", "history",
                "backend", "device", "wall_seconds"))
            assertTrue(j.has(k), "result.json lacks " + k + ": " + j);
        assertEquals(2, j.get("epochs").asInt());
        assertFalse(j.get("diverged").asBoolean());
        assertTrue(j.get("test_error").asDouble() < 20, j.get("test_error").toString());
        assertEquals("mlp:64-32", j.get("config").get("model").asText());
        JsonNode h = j.get("history");
        assertEquals(2, h.size());
        assertEquals(3, h.get(1).get("alignment").size());
        assertTrue(h.get(1).get("alignment").get(0).has("error_angle"));
        assertEquals(0.1 * h.get(0).get("lr").asDouble(), h.get(1).get("lr").asDouble(), 1e-12);
        assertTrue(Files.isRegularFile(dir.resolve("checkpoint.npz")));
        assertTrue(Files.isRegularFile(dir.resolve("weights").resolve("fc1.weight.npy")));
        assertTrue(Files.isRegularFile(dir.resolve("weights").resolve("bn1.running_var.npy")));
    }

    /** dfa and --fb-scale xavier end to end, on cpu and on opencl (pocl here; skipped without an OpenCL device). */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"cpu, dfa", "cpu, usf", "opencl, dfa", "opencl, fa"})
    void xavierScaleAndDfaRunEndToEnd(String backend, String feedback, @TempDir Path dir) throws Exception {
        if (backend.equals("opencl")) asymbp.conformance.DeviceBackends.openOrSkip("opencl").close();
        Run r = run("train", "--limit", "640", "--model", "lenet", "--no-bn", "--feedback", feedback, "--fb-scale", "xavier",
                "--weight-init", "xavier", "--update", "sgd", "--lr", "0.01", "--backend", backend, "-q", "--out", dir.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode j = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        assertEquals("xavier", j.get("config").get("fb_scale").asText());
        JsonNode res = j.get("resolved");
        // per layer: lenet's fans (conv: in·k², out·k²) and, for dfa, B_l's classes × in_l
        String[] names = {"conv1", "conv2", "fc3", "fc4", "fc5"};
        int[][] fans = {{25, 150}, {150, 400}, {400, 120}, {120, 84}, {84, 10}};
        int[] in = {784, 6 * 14 * 14, 400, 120, 84};
        for (int l = 0; l < names.length; l++) {
            double want = feedback.equals("usf") ? Math.sqrt(2.0 / (fans[l][0] + fans[l][1]))
                    : feedback.equals("fa") ? Math.sqrt(6.0 / (fans[l][0] + fans[l][1])) : Math.sqrt(6.0 / (10 + in[l]));
            JsonNode v = res.get(feedback.equals("usf") ? "fb_scale" : "fa_sigma").get(names[l]);
            assertEquals(want, v.asDouble(), 1e-6 * want, names[l] + " in " + res);
        }
        if (!feedback.equals("usf")) assertEquals("uniform", res.get("fa_b").asText());
        JsonNode al = j.get("history").get(0).get("alignment");
        assertEquals(5, al.size());
        for (JsonNode a : al) {
            assertTrue(a.get("error_angle").isNumber(), a.toString());
            if (feedback.equals("dfa")) assertTrue(a.get("weight_angle").isNull(), "dfa has no V of W's shape: " + a);
        }
    }

    @Test
    void resumeTakesTheRunsSettingsFromTheCheckpoint(@TempDir Path dir) throws Exception {
        Run first = run("train", "--limit", "1000", "--model", "mlp:16", "--no-bn", "--feedback", "psf:0.75",
                "--update", "bm", "--lr", "0.001", "--epochs", "1", "--backend", "cpu", "-q", "--out", dir.toString());
        assertEquals(0, first.code(), first.err());
        Run second = run("train", "--resume", "--epochs", "2", "--backend", "cpu", "-q", "--out", dir.toString());
        assertEquals(0, second.code(), second.err());
        JsonNode j = Json.MAPPER.readTree(dir.resolve("result.json").toFile());
        assertEquals(2, j.get("epochs").asInt());
        assertEquals(2, j.get("history").size());
        assertEquals("mlp:16", j.get("config").get("model").asText());
        assertEquals("psf:0.75", j.get("config").get("feedback").asText());
        assertFalse(j.get("config").get("bn").asBoolean());
        Run other = run("train", "--resume", "--model", "mlp:32", "--epochs", "3", "--backend", "cpu", "-q", "--out", dir.toString());
        assertEquals(2, other.code(), other.err());
        assertTrue(other.err().contains("--resume"), other.err());
    }

    @Test
    void devicesListsEveryBackend() {
        Run r = run("devices");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("cpu --device 0"), r.out());
        assertTrue(r.out().contains("opencl"), r.out());
        assertTrue(r.out().contains("cuda"), r.out());
        List<String> lines = new ArrayList<>(Arrays.asList(r.out().strip().split("\n")));
        assertTrue(lines.size() >= 3, r.out());
    }
}
