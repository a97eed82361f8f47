package asymbp.cli;

import asymbp.io.FolderLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static asymbp.cli.MainTest.run;
import static org.junit.jupiter.api.Assertions.*;

/** Issue 12, item 1: a run folder is never mixed or lost. */
class RunFolderTest {

    static String[] train(String data, Path out, String... more) {
        boolean model = java.util.Arrays.asList(more).contains("--model");
        String[] base = {"train", "--dataset", data, "--model", model ? more[java.util.Arrays.asList(more).indexOf("--model") + 1] : "mlp:16",
                "--batch", "20", "--lr", "0.001", "--backend", "cpu", "-q", "--out", out.toString()};
        if (model) {
            java.util.List<String> m = new java.util.ArrayList<>(java.util.Arrays.asList(more));
            int i = m.indexOf("--model");
            m.remove(i);
            m.remove(i);
            more = m.toArray(new String[0]);
        }
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void aFinishedRunIsNeverOverwrittenOrMixed(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 200, 40, 3, 28);
        Path out = tmp.resolve("run");
        MainTest.Run first = run(train(data, out, "--epochs", "2", "--model", "lenet"));
        assertEquals(0, first.code(), first.err());
        assertTrue(Files.exists(out.resolve("weights/conv1.weight.npy")));
        Map<String, byte[]> before = SmallIdx.snapshot(out);

        // The reported cases: another model into the finished run, and a --limit rerun of it.
        for (String[] again : new String[][] {train(data, out, "--model", "mlp:32"), train(data, out, "--limit", "100")}) {
            MainTest.Run r = run(again);
            assertEquals(2, r.code(), "a second run into a finished run's folder: " + r.out() + r.err());
            assertTrue(r.err().contains("--resume") && r.err().contains("--force") && r.err().contains(out.toString()), r.err());
            assertFalse(r.err().strip().contains("\n"), "one line: " + r.err());
            SmallIdx.assertSame(before, SmallIdx.snapshot(out));
        }

        // --force deletes the old run first: no conv1 files beside the new model's.
        MainTest.Run forced = run(train(data, out, "--model", "mlp:32", "--force"));
        assertEquals(0, forced.code(), forced.err());
        try (var s = Files.list(out.resolve("weights"))) {
            s.forEach(p -> assertTrue(p.getFileName().toString().matches("(fc|bn)\\d\\..*\\.npy|input_mean\\.npy|input_inv_std\\.npy|model\\.json"),
                    "left from the old run: " + p));
        }
        assertTrue(Files.exists(out.resolve("weights/fc1.weight.npy")));
    }

    @Test
    void resumeOfAFinishedRunChangesNothing(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 200, 40, 4);
        Path out = tmp.resolve("run");
        assertEquals(0, run(train(data, out, "--epochs", "2")).code());
        Map<String, byte[]> before = SmallIdx.snapshot(out);
        MainTest.Run r = run("train", "--resume", "--backend", "cpu", "-q", "--out", out.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("nothing to do"), r.out());
        SmallIdx.assertSame(before, SmallIdx.snapshot(out));
    }

    @Test
    void forceRefusesAFolderHoldingOtherFiles(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 100, 20, 5);
        Path out = tmp.resolve("mine");
        Files.createDirectories(out);
        Files.writeString(out.resolve("thesis.tex"), "precious");
        for (String[] args : new String[][] {train(data, out), train(data, out, "--force")}) {
            MainTest.Run r = run(args);
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("thesis.tex"), r.err());
        }
        assertEquals("precious", Files.readString(out.resolve("thesis.tex")));
        try (var s = Files.list(out)) {
            assertEquals(1, s.count(), "nothing but the user's file");
        }
    }

    @Test
    void aFolderInUseIsRefused(@TempDir Path tmp) throws Exception {
        String data = SmallIdx.write(tmp.resolve("data"), 100, 20, 6);
        Path out = tmp.resolve("run");
        try (FolderLock held = FolderLock.acquire(out, "another train")) {
            MainTest.Run r = run(train(data, out));
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains("in use") && r.err().contains(out.toString()), r.err());
            assertFalse(Files.exists(out.resolve("result.json")));
        }
        assertEquals(0, run(train(data, out)).code(), "free once the other holder is gone");
    }
}
