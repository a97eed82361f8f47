package asymbp.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Builds one OpenCL program source from the kernel files packaged under /kernels/ on the classpath:
 * vendor_cl.h first, then each op body, with every {@code #include "..."} (relative to kernels/)
 * replaced by the file's text the first time it appears and dropped after that, so the OpenCL
 * compiler needs no include path on the file system.
 */
final class KernelSource {
    private KernelSource() {}

    /** Every op, in the order the program lists them. */
    static final List<String> OPS = List.of(
            "gather_standardize", "linear_forward", "conv2d_forward", "batchnorm_forward", "batchnorm_backward",
            "maxpool_forward", "maxpool_backward", "softmax_cross_entropy", "linear_backward", "conv2d_backward",
            "apply_update", "step_replay");

    private static final Pattern INCLUDE = Pattern.compile("^\\s*#\\s*include\\s+\"([^\"]+)\"\\s*$");

    static String program() {
        StringBuilder out = new StringBuilder();
        Set<String> seen = new LinkedHashSet<>();
        inline("common/vendor_cl.h", out, seen);
        for (String op : OPS) inline(op + ".cl", out, seen);
        return out.toString();
    }

    /** A program made of vendor_cl.h and the given extra source (tests: probes of the shared headers). */
    static String withPrelude(String extra) {
        StringBuilder out = new StringBuilder();
        Set<String> seen = new LinkedHashSet<>();
        inline("common/vendor_cl.h", out, seen);
        inlineText("<test>", extra, out, seen);
        return out.toString();
    }

    private static void inline(String path, StringBuilder out, Set<String> seen) {
        if (!seen.add(path)) return;
        inlineText(path, read(path), out, seen);
    }

    private static void inlineText(String name, String text, StringBuilder out, Set<String> seen) {
        for (String line : text.split("\n", -1)) {
            Matcher m = INCLUDE.matcher(line);
            if (m.matches()) {
                inline(m.group(1), out, seen);
                out.append("\n");   // keep line counts roughly aligned for build-log reading
            } else {
                out.append(line).append('\n');
            }
        }
    }

    static String read(String path) {
        String res = "/kernels/" + path;
        try (InputStream in = KernelSource.class.getResourceAsStream(res)) {
            if (in == null) throw new IllegalStateException("kernel source " + res + " missing from the classpath (jar built without kernels/?)");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read kernel source " + res, e);
        }
    }
}
