package asymbp.train;

import asymbp.backend.Backend;
import asymbp.data.Dataset;
import asymbp.data.Datasets;
import asymbp.io.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Runs exported by the engine load into PyTorch through python/asymbp_torch.py (Debian's python3-torch),
 * and PyTorch misclassifies as many test images as the engine did: same names, shapes, layer order,
 * BN evaluation, input standardisation. Covers lenet with BN, an MLP and lenet-biotorch without BN and cifar with BN.
 * Without python3 and torch it skips with the reason printed, except under CI=true, where .ci/run
 * installs them and their absence fails.
 */
class PyTorchInteropTest {

    private static final Path PYTHON = TorchPython.PYTHON;
    private static final Path LOADER = Path.of("python", "asymbp_torch.py");
    private static final Pattern LINE = Pattern.compile("^(.*): wrong (\\d+) of (\\d+) .*near ties (\\d+)$", Pattern.MULTILINE);

    @Test
    void pytorchTestErrorEqualsTheEngines(@TempDir Path dir) throws Exception {
        TorchPython.require("PyTorchInteropTest");
        long seed = Long.getLong("asymbp.seed", System.nanoTime() & 0xffffff);
        System.out.println("PyTorchInteropTest seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        TrainConfig base = TrainConfig.defaults().withEpochs(1).withQuiet(true).withBackend("cpu").withSeed(seed);

        // MNIST as a user has it (the IDX files); lenet+bn with the defaults (brsf, bm), an MLP without BN.
        Dataset mnist = Datasets.load("mnist");
        List<Path> runs = List.of(
                train(mnist, base.withLimit(2000).withLr(5e-4), dir.resolve("lenet")),
                train(mnist, base.withLimit(2000).withModel("mlp:100-50").withBn(false).withFeedback("fa")
                        .withUpdate("sgd").withLr(0.05), dir.resolve("mlp")),
                train(mnist, base.withLimit(2000).withModel("lenet-biotorch").withBn(false).withFeedback("usf").withFbScale(asymbp.model.FbScale.XAVIER)
                        .withUpdate("sgd").withLr(0.01), dir.resolve("lenet-biotorch")));
        Path mnistDir = Path.of("datasets", "mnist");
        check(runs, mnist, "--idx", mnistDir.resolve("t10k-images-idx3-ubyte.gz"), mnistDir.resolve("t10k-labels-idx1-ubyte.gz"));

        // cifar needs 3×32×32: a small synthetic set, handed over as .npy. Its test labels are redrawn at
        // random, so that the count depends on every prediction (the true ones it would all get right).
        Dataset easy = Synthetic.dataset(3, 32, 32, 4, 256, 200, seed);
        Random rnd = new Random(seed);
        int[] randomLabels = new int[easy.testCount()];
        for (int i = 0; i < randomLabels.length; i++) randomLabels[i] = rnd.nextInt(easy.classes());
        Dataset rgb = new Dataset("synthetic", 3, 32, 32, easy.classes(), easy.trainImages(), easy.trainLabels(),
                easy.testImages(), randomLabels);
        Path cifar = train(rgb, base.withModel("cifar").withFeedback("usf").withBatch(32), dir.resolve("cifar"));
        float[] pixels = new float[rgb.testImages().length], labels = new float[rgb.testCount()];
        for (int i = 0; i < pixels.length; i++) pixels[i] = rgb.testImages()[i] & 0xff;
        for (int i = 0; i < labels.length; i++) labels[i] = rgb.testLabels()[i];
        Path images = dir.resolve("images.npy"), labelFile = dir.resolve("labels.npy");
        Npy.write(images, new int[] {rgb.testCount(), 3, 32, 32}, pixels, 0, pixels.length);
        Npy.write(labelFile, new int[] {rgb.testCount()}, labels, 0, labels.length);
        check(List.of(cifar), rgb, "--npy", images, labelFile);
    }

    /** Trains and exports one run into {@code out}, with the engine's error count in engine_wrong.txt; returns out. */
    private static Path train(Dataset d, TrainConfig cfg, Path out) throws IOException {
        try (Backend be = TestBackends.open("cpu"); Trainer t = new Trainer(be, d, cfg)) {
            RunResult r = t.run(out);
            assertFalse(r.diverged(), cfg.model() + " diverged at step " + r.divergedStep());
            long wrong = Math.round(r.testError() * d.testCount() / 100.0);
            Files.writeString(out.resolve("engine_wrong.txt"), Long.toString(wrong));
            System.out.printf("engine %s%s %s: test error %.2f %% (%d of %d)%n", cfg.model(), cfg.bn() ? "+bn" : "",
                    cfg.feedback(), r.testError(), wrong, d.testCount());
            return out;
        }
    }

    /** python3 asymbp_torch.py RUNS... FLAG IMAGES LABELS; PyTorch's error count must be the engine's. */
    private static void check(List<Path> runs, Dataset d, String flag, Path images, Path labels) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(PYTHON.toString(), LOADER.toString()));
        for (Path r : runs) cmd.add(r.toString());
        cmd.addAll(List.of(flag, images.toString(), labels.toString()));
        String out = TorchPython.run(cmd);
        System.out.print(out);
        Matcher m = LINE.matcher(out);
        int seen = 0;
        while (m.find()) {
            Path run = Path.of(m.group(1));
            long engineWrong = Long.parseLong(Files.readString(run.resolve("engine_wrong.txt")));
            long torchWrong = Long.parseLong(m.group(2)), ties = Long.parseLong(m.group(4));
            assertEquals(d.testCount(), Long.parseLong(m.group(3)), run + ": test images");
            // Float rounding differs between the libraries; it can flip an image only where the two top
            // logits nearly tie, and then by one image at most.
            if (torchWrong != engineWrong)
                assertTrue(Math.abs(torchWrong - engineWrong) <= Math.min(1, ties),
                        run + ": PyTorch misclassifies " + torchWrong + " images, the engine " + engineWrong
                                + " (near ties: " + ties + ")");
            seen++;
        }
        assertEquals(runs.size(), seen, "one result line per run in:\n" + out);
    }
}
