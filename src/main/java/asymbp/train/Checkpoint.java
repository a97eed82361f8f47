package asymbp.train;

import asymbp.io.AtomicFiles;
import asymbp.io.Json;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * The state after a finished epoch: enough to continue bit for bit (parameters, momentum buffer, BN
 * running statistics, epochs done, global step, history, configuration).
 *
 * <p>File layout: magic {@code ASYMBPCK}, int version, int n + n bytes of UTF-8 JSON
 * ({@link Header}), then params, velocity, state, each as int length + that many floats (big-endian,
 * Java's DataOutput). Written atomically: a reader sees the previous checkpoint or the new one.
 */
public record Checkpoint(Header header, float[] params, float[] velocity, float[] state) {

    public static final String FILE = "checkpoint.bin";
    private static final byte[] MAGIC = "ASYMBPCK".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    public record Header(TrainConfig config, int epochs, long step, List<EpochRecord> history) {}

    public void write(Path file) throws IOException {
        byte[] json = Json.MAPPER.writeValueAsBytes(header);
        AtomicFiles.write(file, os -> {
            DataOutputStream out = new DataOutputStream(os);
            out.write(MAGIC);
            out.writeInt(VERSION);
            out.writeInt(json.length);
            out.write(json);
            for (float[] a : new float[][] {params, velocity, state}) {
                out.writeInt(a.length);
                for (float f : a) out.writeFloat(f);
            }
            out.flush();
        });
    }

    /** Only the header (configuration, epochs, step, history) of a checkpoint file. */
    public static Header readHeader(Path file) throws IOException {
        return read(file, false).header();
    }

    public static Checkpoint read(Path file) throws IOException {
        return read(file, true);
    }

    /** Magic, version and JSON header, then (if {@code arrays}) parameters, velocity and BN state. */
    private static Checkpoint read(Path file, boolean arrays) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no checkpoint to resume from");
        try (InputStream is = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            DataInputStream in = new DataInputStream(is);
            if (!Arrays.equals(in.readNBytes(MAGIC.length), MAGIC)) throw new IOException(file + ": not an asymbp checkpoint");
            int version = in.readInt();
            if (version != VERSION) throw new IOException(file + ": checkpoint version " + version + ", expected " + VERSION);
            Header h = Json.MAPPER.readValue(in.readNBytes(in.readInt()), Header.class);
            if (!arrays) return new Checkpoint(h, null, null, null);
            float[][] a = new float[3][];
            for (int k = 0; k < 3; k++) {
                int n = in.readInt();
                if (n < 0) throw new IOException(file + ": corrupt array length " + n);
                a[k] = new float[n];
                for (int i = 0; i < n; i++) a[k][i] = in.readFloat();
            }
            return new Checkpoint(h, a[0], a[1], a[2]);
        } catch (java.io.EOFException e) {
            throw new IOException(file + ": truncated checkpoint", e);
        }
    }
}
