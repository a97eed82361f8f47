package asymbp.cli;

import asymbp.io.Json;
import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static asymbp.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** Issue 12, item 7: {@code train --config FILE}, the keys of grid files, flags override, bad files refused first. */
class ConfigFileTest {

    private static String yaml(String data) {
        return "dataset: " + data + "\nmodel: mlp:8\nfeedback: fa\nbn: false\nupdate: sgd\nlr: 0.02\nepochs: 1\n"
                + "batch: 20\nweight_decay: 1.0e-4\nfb_magnitude: halfnormal\nlr_factor: 0.5\nbackend: cpu\nquiet: true\n";
    }

    @Test
    void theFileSetsOptionsAndGivenFlagsOverrideIt(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 200, 40, 8);
        Path cfg = Files.writeString(tmp.resolve("run.yaml"), yaml(data));
        Path out = tmp.resolve("o");
        MainTest.Run r = run("train", "--config", cfg.toString(), "--batch", "10", "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        JsonNode c = Json.MAPPER.readTree(out.resolve("result.json").toFile()).get("config");
        assertEquals("mlp:8", c.get("model").asText());
        assertEquals("fa", c.get("feedback").asText());
        assertFalse(c.get("bn").asBoolean());
        assertEquals("sgd", c.get("update").asText());
        assertEquals(0.02, c.get("lr").asDouble());
        assertEquals(1.0e-4, c.get("weight_decay").asDouble());
        assertEquals("halfnormal", c.get("fb_magnitude").asText());
        assertEquals(0.5, c.get("lr_factor").asDouble());
        assertEquals(10, c.get("batch").asInt(), "the flag overrides the file");
        assertEquals(0.9, c.get("momentum").asDouble(), "an option the file leaves out keeps train's default");
        assertTrue(c.get("quiet").asBoolean());

        // --resume: the checkpoint's configuration, through the same mapper; only what is given replaces it.
        r = run("train", "--out", out.toString(), "--resume", "--epochs", "2", "-q");
        assertEquals(0, r.code(), r.out() + r.err());
        c = Json.MAPPER.readTree(out.resolve("result.json").toFile()).get("config");
        assertEquals(2, c.get("epochs").asInt());
        assertEquals(10, c.get("batch").asInt());
        assertEquals("halfnormal", c.get("fb_magnitude").asText());
        assertEquals(1.0e-4, c.get("weight_decay").asDouble());
    }

    @Test
    void badFilesAreRefusedBeforeAnyWorkNamingFileKeyAndValue(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 200, 40, 9);
        String[][] cases = {
                {"learning_rate: 0.1\n", "unknown key 'learning_rate'"},
                {"weightDecay: 0.1\n", "unknown key 'weightDecay'"},
                {"epochs: 1.5\n", "key 'epochs': '1.5': expected an integer"},
                {"lr: fast\n", "key 'lr': 'fast': expected a number"},
                {"momentum: 1.5\n", "key 'momentum': '1.5': must be in [0,1)"},
                {"fb_magnitude: gaussian\n", "key 'fb_magnitude': 'gaussian': must be uniform or halfnormal"},
                {"model: mlp:0\n", "key 'model': 'mlp:0'"},
                {"lr_steps: [5]\n", "key 'lr_steps': '5'"},
                {"bn: maybe\n", "key 'bn': 'maybe': expected true or false"},
                {"resume: true\n", "unknown key 'resume'"},
                {"lr: [0.1\n", "not valid YAML"},
        };
        int i = 0;
        for (String[] c : cases) {
            Path cfg = Files.writeString(tmp.resolve("c" + i + ".yaml"), "dataset: " + data + "\nbackend: cpu\n" + c[0]);
            Path out = tmp.resolve("o" + i++);
            MainTest.Run r = run("train", "--config", cfg.toString(), "-q", "--out", out.toString());
            assertEquals(2, r.code(), c[0] + ": " + r.out() + r.err());
            String err = r.err().strip();
            assertEquals(1, err.lines().count(), err);
            assertTrue(err.contains(cfg.toString()) && err.contains(c[1]), c[1] + " in: " + err);
            assertFalse(Files.exists(out), "nothing is created for a refused file: " + out);
        }
        Path list = Files.writeString(tmp.resolve("list.yaml"), "- lr\n- 0.1\n");
        MainTest.Run r = run("train", "--config", list.toString(), "-q");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains(list + ": expected a mapping"), r.err());
        r = run("train", "--config", tmp.resolve("none.yaml").toString(), "-q");
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("none.yaml: no such file"), r.err());
        // A bad flag beside a good file still names the flag.
        Path good = Files.writeString(tmp.resolve("good.yaml"), yaml(data));
        r = run("train", "--config", good.toString(), "--momentum", "2", "--out", tmp.resolve("g").toString());
        assertEquals(2, r.code(), r.err());
        assertTrue(r.err().contains("--momentum 2.0: must be in [0,1)"), r.err());
    }
}
