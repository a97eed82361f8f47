package asymbp.grid;

import asymbp.io.AtomicFiles;
import asymbp.io.Text;
import asymbp.io.Json;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The cells/ folder of a run directory: one JSON file per cell (snake_case keys, as every file), each written
 * through {@link AtomicFiles}, so a file either holds a whole result or does not exist. A leftover temporary
 * file, or a result that does not parse, counts as not done. Cell files are written on one line (indentation
 * made a third of a 100-epoch cell's size, and every committed cell travels with the GPU check).
 */
public final class ResultStore {
    static final ObjectMapper JSON = Json.MAPPER;
    private static final ObjectWriter ONE_LINE = JSON.writer().without(SerializationFeature.INDENT_OUTPUT);

    private final Path dir;

    public ResultStore(Path runDir) {
        this.dir = runDir.resolve("cells");
    }

    public Path dir() { return dir; }

    public Path file(CellSpec cell) { return dir.resolve(cell.id() + ".json"); }

    /** Writes the cell's file atomically (forced to disk before the rename; a failure leaves no temporary file). */
    public void write(CellResult result) throws IOException {
        Files.createDirectories(dir);
        byte[] json = bytes(result);
        AtomicFiles.write(file(result.cell()), out -> out.write(json));
    }

    /** A cell file's bytes: the result on one line, then a newline. */
    static byte[] bytes(CellResult result) throws IOException {
        return (ONE_LINE.writeValueAsString(result) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** The stored result of {@code cell}, if there is a readable one. */
    public Optional<CellResult> read(CellSpec cell) {
        Path f = file(cell);
        if (!Files.isRegularFile(f)) return Optional.empty();
        try {
            return Optional.of(readResult(f));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Every readable result in the folder; unreadable files are reported to {@code warn} and skipped. */
    public List<CellResult> readAll(Consumer<String> warn) throws IOException {
        List<CellResult> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) return out;
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
            ds.forEach(files::add);
        }
        files.sort(null);
        for (Path f : files) {
            try {
                CellResult r = readResult(f);
                if (r.cell() == null || r.status() == null) throw new IOException("no cell or status");
                out.add(r);
            } catch (IOException e) {
                warn.accept(f + ": unreadable result, ignored (" + Text.firstLine(e.getMessage()) + ")");
            }
        }
        return out;
    }

    /**
     * Rewrites (atomically) every cell file not as {@link #write} writes it today — an indented file, or one
     * whose loss trace is longer than {@link CellResult#TRACE_LIMIT} points (cells written before the limit,
     * whose trace is thinned as new cells' are); the number rewritten. Unreadable files are left as they are.
     */
    public int compact() throws IOException {
        int n = 0;
        if (!Files.isDirectory(dir)) return 0;
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
            for (Path f : ds) {
                byte[] before = Files.readAllBytes(f), json;
                try {
                    json = bytes(result(JSON.readTree(before)));
                } catch (IOException e) {
                    continue;
                }
                if (Arrays.equals(before, json)) continue;
                AtomicFiles.write(f, out -> out.write(json));
                n++;
            }
        }
        return n;
    }

    /** A cell file; one written before cell files used snake_case (testError, weightDecay) reads the same. */
    static CellResult readResult(Path f) throws IOException {
        return result(JSON.readTree(f.toFile()));
    }

    private static CellResult result(com.fasterxml.jackson.databind.JsonNode tree) throws IOException {
        return JSON.treeToValue(Json.snakeKeys(tree), CellResult.class);
    }
}
