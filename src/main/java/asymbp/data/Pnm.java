package asymbp.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Binary PGM (P5) and PPM (P6) images with 8-bit samples, which javax.imageio has no reader for and
 * some robot-vision sets (iCubWorld) use. Header: magic, width, height, maxval as whitespace-separated
 * ASCII (with # comments), one whitespace byte, then the samples row by row.
 */
final class Pnm {
    private Pnm() {}

    static BufferedImage read(Path file) throws IOException {
        long size = Files.size(file);
        if (size > Integer.MAX_VALUE - 16) throw new DatasetException(file + ": " + size + " bytes, more than one Java array holds");
        ByteSource.requireMemory(size, file + ": " + size + " bytes");
        byte[] b = Files.readAllBytes(file);
        int[] pos = {0};
        String magic = token(b, pos, file);
        if (!magic.equals("P5") && !magic.equals("P6"))
            throw new DatasetException(file + ": PNM magic '" + magic + "', expected P5 (PGM) or P6 (PPM) binary");
        int w = number(b, pos, file, "width"), h = number(b, pos, file, "height"), max = number(b, pos, file, "maxval");
        if (w <= 0 || h <= 0 || max <= 0 || max > 255)
            throw new DatasetException(file + ": PNM header " + w + "x" + h + " maxval " + max
                    + " (expected positive size and 8-bit samples, maxval 1..255)");
        pos[0]++; // the single whitespace byte after maxval
        int channels = magic.equals("P6") ? 3 : 1;
        long need = (long) w * h * channels;
        if (pos[0] + need > b.length)
            throw new DatasetException(file + ": truncated: " + w + "x" + h + "x" + channels + " samples need bytes "
                    + pos[0] + ".." + (pos[0] + need) + " but the file has " + b.length);
        ByteSource.requireMemory(4L * w * h, file + ": a " + w + "x" + h + " image");
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int p = pos[0];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                int r, g, bl;
                if (channels == 3) {
                    r = scale(b[p++], max);
                    g = scale(b[p++], max);
                    bl = scale(b[p++], max);
                } else {
                    r = g = bl = scale(b[p++], max);
                }
                img.setRGB(x, y, (r << 16) | (g << 8) | bl);
            }
        return img;
    }

    private static int scale(byte v, int max) {
        return max == 255 ? v & 0xff : Math.min(255, ((v & 0xff) * 255 + max / 2) / max);
    }

    private static String token(byte[] b, int[] pos, Path file) {
        int p = pos[0];
        while (p < b.length && (Character.isWhitespace(b[p]) || b[p] == '#')) {
            if (b[p] == '#') while (p < b.length && b[p] != '\n') p++;
            else p++;
        }
        int start = p;
        while (p < b.length && !Character.isWhitespace(b[p]) && b[p] != '#') p++;
        if (start == p) throw new DatasetException(file + ": truncated PNM header at byte " + start);
        pos[0] = p;
        return new String(b, start, p - start, java.nio.charset.StandardCharsets.US_ASCII);
    }

    private static int number(byte[] b, int[] pos, Path file, String what) {
        int at = pos[0];
        String t = token(b, pos, file);
        try {
            return Integer.parseInt(t);
        } catch (NumberFormatException e) {
            throw new DatasetException(file + ": PNM " + what + " '" + t + "' near byte " + at + " is not a number");
        }
    }
}
