package asymbp.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The prebuilt kernel artifacts in the jar (kernels/build-cuda.sh writes them to kernels/ptx/), one set per
 * op file {@code kernels/<module>.cu} (the modules of {@link asymbp.backend.Kernel}):
 * {@code <module>.sm_80.cubin}, {@code .sm_90.cubin}, {@code .compute_80.ptx}, {@code .compute_90.ptx}.
 * Pure Java: usable (and tested) without a GPU.
 */
public final class KernelArtifacts {
    private KernelArtifacts() {}

    public static final String ROOT = "kernels/ptx/";
    /** Architectures with a cubin; a cubin for sm_X0 also runs on sm_X1..X9 (same major). */
    public static final List<Integer> CUBIN_ARCHS = List.of(80, 90);
    public static final List<Integer> PTX_ARCHS = List.of(80, 90);

    /** Resource path of {@code module}'s cubin that runs on compute capability major.minor, or null. */
    public static String cubinFor(String module, int major, int minor) {
        int arch = major * 10;
        if (!CUBIN_ARCHS.contains(arch)) return null;
        String path = ROOT + module + ".sm_" + arch + ".cubin";
        return exists(path) ? path : null;
    }

    /** Resource path of {@code module}'s newest PTX not newer than the device, or null. */
    public static String ptxFor(String module, int major, int minor) {
        int cc = major * 10 + minor;
        String best = null;
        for (int arch : PTX_ARCHS) {
            String path = ROOT + module + ".compute_" + arch + ".ptx";
            if (arch <= cc && exists(path)) best = path;
        }
        return best;
    }

    static boolean exists(String path) {
        return KernelArtifacts.class.getClassLoader().getResource(path) != null;
    }

    public static byte[] read(String path) {
        try (InputStream in = KernelArtifacts.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) throw new IllegalStateException("cuda: kernel artifact " + path + " missing from the jar");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("cuda: cannot read " + path, e);
        }
    }
}
