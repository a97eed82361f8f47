package asymbp.train;

import asymbp.io.AtomicFiles;
import asymbp.io.IoErrors;
import asymbp.io.Json;
import asymbp.io.Memory;
import asymbp.io.Npy;
import asymbp.io.WeightsException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * The state after a finished epoch: enough to continue bit for bit (parameters, momentum buffer, BN
 * running statistics, epochs done, global step, history, configuration).
 *
 * <p>File: {@code checkpoint.npz}, an uncompressed NumPy archive ({@code np.load} reads it): float32
 * vectors {@code params.npy}, {@code velocity.npy}, {@code state.npy} (laid out as the model's
 * {@code ParamLayout}), and {@code header.json} ({@link Stored}: the run's configuration, epochs, step,
 * history, wall time so far, and the SHA-256 of each .npy entry). On load every entry's CRC-32 (ZIP) and SHA-256 are
 * verified and every value must be finite; any failure is a {@link CorruptException} naming the file.
 * Written atomically: a reader sees the previous checkpoint or the new one.
 */
public record Checkpoint(Header header, float[] params, float[] velocity, float[] state) {

    public static final String FILE = "checkpoint.npz";
    static final String FORMAT = "asymbp-checkpoint";
    static final int VERSION = 2;
    private static final String[] ARRAYS = {"params", "velocity", "state"};
    private static final String HEADER = "header.json";

    /**
     * @param wallSeconds the run's wall time up to this checkpoint over every invocation that trained it (a
     *                    resumed run adds its own to it); null in checkpoints written before it was recorded
     */
    public record Header(TrainConfig config, int epochs, long step, List<EpochRecord> history, Double wallSeconds) {

        /** The wall time before this checkpoint: as recorded, else (older checkpoints) the epochs' training seconds summed. */
        public double wallSecondsOrTrainingTime() {
            return wallSeconds != null ? wallSeconds : history == null ? 0 : history.stream().mapToDouble(EpochRecord::seconds).sum();
        }
    }

    /** What header.json holds. */
    record Stored(String format, int version, Header header, Map<String, String> sha256) {}

    /** The checkpoint cannot be used: unreadable, damaged, or holding a NaN/Inf; the message is one line naming the file. */
    public static final class CorruptException extends IOException {
        CorruptException(String message) { super(message); }
        CorruptException(String message, Throwable cause) { super(message, cause); }
    }

    public void write(Path file) throws IOException {
        float[][] arrays = {params, velocity, state};
        Map<String, byte[]> npy = new LinkedHashMap<>();
        Map<String, String> sha = new LinkedHashMap<>();
        for (int k = 0; k < 3; k++) {
            byte[] b = Npy.bytes(arrays[k]);
            npy.put(ARRAYS[k] + ".npy", b);
            sha.put(ARRAYS[k] + ".npy", sha256(b));
        }
        byte[] json = Json.MAPPER.writeValueAsBytes(new Stored(FORMAT, VERSION, header, sha));
        AtomicFiles.write(file, os -> {
            ZipOutputStream zip = new ZipOutputStream(os);
            zip.setMethod(ZipOutputStream.STORED); // as np.savez: readable without inflating
            put(zip, HEADER, json);
            for (Map.Entry<String, byte[]> e : npy.entrySet()) put(zip, e.getKey(), e.getValue());
            zip.finish();
        });
    }

    private static void put(ZipOutputStream zip, String name, byte[] b) throws IOException {
        ZipEntry e = new ZipEntry(name);
        CRC32 crc = new CRC32();
        crc.update(b);
        e.setSize(b.length); // a stored entry's compressed size is its size: putNextEntry copies it
        e.setCrc(crc.getValue());
        e.setTime(0); // the same state gives the same bytes
        zip.putNextEntry(e);
        zip.write(b); // the next putNextEntry, or finish, closes the entry
    }

    /**
     * Only the header (configuration, epochs, step, history) of a checkpoint file: reads the archive's
     * directory and its header.json entry (CRC-32 checked), not the arrays. {@link #read} verifies those.
     */
    public static Header readHeader(Path file) throws IOException {
        byte[] json;
        try (ZipFile zip = new ZipFile(file.toFile())) {
            ZipEntry e = zip.getEntry(HEADER);
            if (e == null) throw new CorruptException(file + ": not an asymbp checkpoint (no " + HEADER + " entry)");
            if (e.getMethod() != ZipEntry.STORED)
                throw new CorruptException(file + ": entry " + HEADER
                        + " is compressed; checkpoints are uncompressed .npz (np.savez, not savez_compressed)");
            long max = Files.size(file);
            if (e.getSize() < 0 || e.getSize() > max)
                throw new CorruptException(file + ": entry " + HEADER + " claims " + e.getSize() + " bytes in a file of "
                        + max + " (corrupt)");
            try (InputStream in = zip.getInputStream(e)) {
                json = in.readNBytes((int) e.getSize());
            }
            CRC32 crc = new CRC32();
            crc.update(json);
            if (json.length != e.getSize() || crc.getValue() != e.getCrc())
                throw new CorruptException(file + ": entry " + HEADER + " fails its CRC-32 (the file is damaged)");
        } catch (CorruptException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no checkpoint to resume from", e);
        } catch (ZipException | java.io.EOFException e) {
            throw new CorruptException(file + ": corrupt checkpoint (" + IoErrors.reason(e) + ")", e);
        } catch (IOException e) {
            throw IoErrors.wrap("read", file, e);
        } catch (RuntimeException e) { // a damaged directory can surface as anything
            throw new CorruptException(file + ": corrupt checkpoint (" + e + ")", e);
        }
        return stored(json, file).header();
    }

    /** header.json parsed and checked: format, version, configuration and checksums present. */
    private static Stored stored(byte[] json, Path file) throws CorruptException {
        Stored st;
        try {
            st = Json.MAPPER.readValue(json, Stored.class);
        } catch (IOException e) {
            throw new CorruptException(file + ": corrupt header.json (" + asymbp.io.Text.firstLine(e.getMessage()) + ")", e);
        }
        if (!FORMAT.equals(st.format()) || st.version() != VERSION)
            throw new CorruptException(file + ": format " + st.format() + " version " + st.version() + ", expected "
                    + FORMAT + " version " + VERSION);
        if (st.header() == null || st.header().config() == null || st.sha256() == null)
            throw new CorruptException(file + ": header.json lacks the configuration or the checksums");
        return st;
    }

    public static Checkpoint read(Path file) throws IOException {
        long size;
        try {
            size = Files.size(file);
        } catch (NoSuchFileException e) {
            throw new IOException(file + ": no checkpoint to resume from", e);
        } catch (IOException e) {
            throw IoErrors.wrap("read", file, e);
        }
        String lack = Memory.shortage(2 * size);
        if (lack != null) throw new IOException(file + ": " + size + " bytes; loading it " + lack);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (InputStream is = Files.newInputStream(file); ZipInputStream zip = new ZipInputStream(is)) {
            for (ZipEntry e; (e = zip.getNextEntry()) != null; ) {
                if (e.getMethod() != ZipEntry.STORED || e.getSize() < 0)
                    throw new CorruptException(file + ": entry " + e.getName()
                            + " is compressed; checkpoints are uncompressed .npz (np.savez, not savez_compressed)");
                if (e.getSize() > size)
                    throw new CorruptException(file + ": entry " + e.getName() + " claims " + e.getSize()
                            + " bytes in a file of " + size + " (corrupt)");
                byte[] b = zip.readNBytes((int) e.getSize()); // reading the last byte verifies the entry's CRC-32
                if (b.length != e.getSize()) throw new CorruptException(file + ": truncated in entry " + e.getName());
                if (zip.read() >= 0) throw new CorruptException(file + ": entry " + e.getName() + " is longer than its header says");
                if (entries.put(e.getName(), b) != null) throw new CorruptException(file + ": entry " + e.getName() + " twice");
            }
        } catch (CorruptException e) {
            throw e;
        } catch (ZipException | java.io.EOFException e) {
            throw new CorruptException(file + ": corrupt checkpoint (" + IoErrors.reason(e) + ")", e);
        } catch (IOException e) {
            throw IoErrors.wrap("read", file, e);
        } catch (RuntimeException e) { // a damaged local header can surface as anything
            throw new CorruptException(file + ": corrupt checkpoint (" + e + ")", e);
        }
        byte[] json = entries.get(HEADER);
        if (json == null) throw new CorruptException(file + ": not an asymbp checkpoint (no header.json entry)");
        Stored st = stored(json, file);
        float[][] a = new float[3][];
        for (int k = 0; k < 3; k++) {
            String name = ARRAYS[k] + ".npy";
            byte[] b = entries.get(name);
            if (b == null) throw new CorruptException(file + ": no entry " + name);
            if (!sha256(b).equals(st.sha256().get(name)))
                throw new CorruptException(file + ": SHA-256 of " + name + " is " + sha256(b) + ", header.json says "
                        + st.sha256().get(name) + " (the file is damaged)");
            try {
                a[k] = Npy.parse(b, file + "!" + name, null);
            } catch (WeightsException e) {
                throw new CorruptException(e.getMessage(), e);
            }
            int bad = Npy.firstNonFinite(a[k]);
            if (bad >= 0)
                throw new CorruptException(file + ": " + name + " element " + bad + " is " + a[k][bad]
                        + "; a checkpoint holds only finite values");
        }
        return new Checkpoint(st.header(), a[0], a[1], a[2]);
    }

    static String sha256(byte[] b) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java platform", e);
        }
    }
}
