package asymbp.train;

import asymbp.backend.Backend;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.ThreadLocalRandom;

import static org.junit.jupiter.api.Assertions.*;

/** readHeader reads header.json alone; a resume reads the whole checkpoint once. */
class CheckpointTest {

    private static long seed(String what) {
        long s = Long.getLong("asymbp.seed", ThreadLocalRandom.current().nextLong(1, 1 << 20));
        System.out.println(what + ": seed " + s + " (replay with -Dasymbp.seed=" + s + ")");
        return s;
    }

    /** A one-epoch run's checkpoint in {@code dir}. */
    private static Path oneEpoch(Path dir) throws Exception {
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, TrainerTest.SMALL, TrainerTest.small().withEpochs(1))) {
            t.run(dir);
        }
        return dir.resolve(Checkpoint.FILE);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not in the checkpoint: " + new String(needle, StandardCharsets.ISO_8859_1));
    }

    @Test
    void readHeaderReadsTheHeaderEntryOnly(@TempDir Path dir) throws Exception {
        Path f = oneEpoch(dir);
        Checkpoint whole = Checkpoint.read(f);
        // Damage the parameters' data: the whole read refuses it, the header alone is still what was written.
        byte[] b = Files.readAllBytes(f);
        int data = indexOf(b, "params.npy".getBytes(StandardCharsets.US_ASCII));
        data = indexOf(java.util.Arrays.copyOfRange(b, data, b.length), new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'}) + data + 128;
        Random rnd = new Random(seed("checkpoint header"));
        b[data + rnd.nextInt(4 * 100)] ^= (byte) (1 << rnd.nextInt(8));
        Files.write(f, b);
        Checkpoint.CorruptException e = assertThrows(Checkpoint.CorruptException.class, () -> Checkpoint.read(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
        assertEquals(whole.header(), Checkpoint.readHeader(f), "the header, without reading the damaged arrays");
    }

    @Test
    void aDamagedHeaderIsRefusedInOneLineNamingTheFile(@TempDir Path dir) throws Exception {
        Path f = oneEpoch(dir);
        byte[] b = Files.readAllBytes(f);
        int at = indexOf(b, "\"format\"".getBytes(StandardCharsets.US_ASCII));
        b[at + 2] ^= 1; // inside header.json's data: its CRC-32 no longer matches
        Files.write(f, b);
        Checkpoint.CorruptException e = assertThrows(Checkpoint.CorruptException.class, () -> Checkpoint.readHeader(f));
        assertTrue(e.getMessage().contains(f.toString()) && !e.getMessage().contains("\n"), e.getMessage());
        Files.write(f, "not a zip".getBytes(StandardCharsets.US_ASCII));
        e = assertThrows(Checkpoint.CorruptException.class, () -> Checkpoint.readHeader(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    @Test
    void aCheckpointWithoutWallTimeCountsItsEpochsTrainingTime(@TempDir Path dir) throws Exception {
        Checkpoint c = Checkpoint.read(oneEpoch(dir));
        Checkpoint.Header h = c.header();
        Path older = dir.resolve("older.npz");
        // as a checkpoint written before the wall time was recorded
        new Checkpoint(new Checkpoint.Header(h.config(), h.epochs(), h.step(), h.history(), null), c.params(), c.velocity(), c.state())
                .write(older);
        Checkpoint.Header back = Checkpoint.readHeader(older);
        assertNull(back.wallSeconds());
        double trained = h.history().stream().mapToDouble(EpochRecord::seconds).sum();
        assertTrue(trained > 0);
        assertEquals(trained, back.wallSecondsOrTrainingTime(), 1e-12);
        assertEquals(h.wallSeconds(), h.wallSecondsOrTrainingTime(), "a recorded wall time is used as it is");
        assertTrue(h.wallSeconds() >= trained, "wall time " + h.wallSeconds() + " s covers the epoch's training " + trained + " s");
    }

    @Test
    void aResumeGivenTheCheckpointDoesNotReadTheFileAgain(@TempDir Path dir) throws Exception {
        Path f = oneEpoch(dir);
        Checkpoint loaded = Checkpoint.read(f);
        // Unreadable from here on: the resume must continue from what the caller read.
        Files.write(f, new byte[] {1, 2, 3});
        TrainConfig cfg = TrainerTest.small().withEpochs(2).withResume(true);
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, TrainerTest.SMALL, cfg)) {
            t.resumeFrom(loaded);
            RunResult r = t.run(dir);
            assertEquals(2, r.epochs());
            assertEquals(1, r.resumedFromEpoch());
        }
        try (Backend be = new ReferenceBackend(); Trainer t = new Trainer(be, TrainerTest.SMALL, cfg.withEpochs(3))) {
            assertEquals(3, t.run(dir).epochs(), "without one, run reads DIR/checkpoint.npz (the one epoch 2 wrote)");
        }
    }
}
