package asymbp.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * scikit-learn's digits (the UCI optdigits test set): digits.csv.gz, 1,797 rows of 64 pixel counts
 * 0..16 (8x8, row-major) and the label 0..9.
 *
 * <p>Pixels are scaled to bytes as round(v * 255 / 16). Split: the file has none, so the first 1,437
 * rows are training and the last 360 (20%, rounded up) are the test set — a fixed, seed-free rule that
 * any tool can reproduce.
 */
final class Digits {
    private Digits() {}

    static final String FILE = "digits.csv.gz";
    static final int ROWS = 1797;
    static final int TEST = 360;

    static Dataset load(Path file, boolean verify) {
        byte[] pixels = new byte[ROWS * 64];
        int[] labels = new int[ROWS];
        int n = 0;
        try (ByteSource s = ByteSource.open(file, verify)) {
            InputStream in = s.asStream("CSV text");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII), 1 << 16);
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) continue;
                if (n == ROWS)
                    throw new DatasetException(file + ": line " + lineNo + ": more than " + ROWS + " rows");
                String[] f = line.split(",");
                if (f.length != 65)
                    throw new DatasetException(file + ": line " + lineNo + ": " + f.length + " fields, expected 65 (64 pixels and a label)");
                for (int i = 0; i < 65; i++) {
                    int v;
                    try {
                        v = Integer.parseInt(f[i].strip());
                    } catch (NumberFormatException e) {
                        throw new DatasetException(file + ": line " + lineNo + ", field " + (i + 1) + ": '" + f[i] + "' is not an integer");
                    }
                    if (i < 64) {
                        if (v < 0 || v > 16)
                            throw new DatasetException(file + ": line " + lineNo + ", field " + (i + 1) + ": pixel " + f[i] + " outside 0..16");
                        pixels[n * 64 + i] = (byte) ((v * 255 + 8) / 16);
                    } else {
                        if (v < 0 || v > 9)
                            throw new DatasetException(file + ": line " + lineNo + ": label " + f[i] + " outside 0..9");
                        labels[n] = v;
                    }
                }
                n++;
            }
            if (n != ROWS)
                throw new DatasetException(file + ": " + n + " rows, expected " + ROWS + " (truncated or not scikit-learn's digits)");
            if (verify) s.verifySha256(Checksums.DIGITS_CSV, Checksums.SOURCE);
        } catch (IOException e) {
            throw new DatasetException(file + ": read error (" + e.getMessage() + ")", e);
        }
        int train = ROWS - TEST;
        byte[] trainX = Arrays.copyOfRange(pixels, 0, train * 64);
        byte[] testX = Arrays.copyOfRange(pixels, train * 64, ROWS * 64);
        int[] trainY = Arrays.copyOfRange(labels, 0, train);
        int[] testY = Arrays.copyOfRange(labels, train, ROWS);
        return new Dataset("digits", 1, 8, 8, 10, trainX, trainY, testX, testY);
    }
}
