package asymbp.cuda;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The prebuilt kernel artifacts in the jar (kernels/build-cuda.sh writes them to kernels/ptx/):
 * {@code <module>.sm_80.cubin}, {@code .sm_90.cubin}, {@code .compute_80.ptx}, {@code .compute_90.ptx}.
 * Pure Java: usable (and tested) without a GPU.
 */
public final class KernelArtifacts {
    private KernelArtifacts() {}

    public static final String ROOT = "kernels/ptx/";
    /** Architectures with a cubin; a cubin for sm_X0 also runs on sm_X1..X9 (same major). */
    public static final List<Integer> CUBIN_ARCHS = List.of(80, 90);
    public static final List<Integer> PTX_ARCHS = List.of(80, 90);

    /** Every kernel the backend launches, all in one module. */
    public static final List<String> KERNELS = List.of(
            "gather_standardize", "linear_forward", "linear_backward_dx", "linear_backward_dw", "channel_grad_sum",
            "conv2d_forward", "conv2d_backward_dx", "conv2d_backward_dw", "conv2d_backward_dw_reduce",
            "batchnorm_forward_rows", "batchnorm_forward_nchw", "batchnorm_forward_eval",
            "batchnorm_backward_rows", "batchnorm_backward_nchw", "maxpool_forward", "maxpool_backward",
            "softmax_cross_entropy", "apply_update", "step_scalars_advance", "stats_accumulate", "feedback_materialize",
            "linear_forward_t128", "linear_backward_dx_t128", "linear_backward_dw_t128",
            "conv2d_forward_t128", "conv2d_backward_dx_t128", "conv2d_backward_dw_t128",
            "batchnorm_partial_forward", "batchnorm_combine_forward", "batchnorm_apply_forward",
            "batchnorm_partial_backward", "batchnorm_combine_backward", "batchnorm_apply_backward");

    /** Resource path of the cubin that runs on compute capability major.minor, or null. */
    public static String cubinFor(int major, int minor) {
        int arch = major * 10;
        if (!CUBIN_ARCHS.contains(arch)) return null;
        String path = ROOT + CudaBackend.MODULE + ".sm_" + arch + ".cubin";
        return exists(path) ? path : null;
    }

    /** Resource path of the newest PTX not newer than the device, or null. */
    public static String ptxFor(int major, int minor) {
        int cc = major * 10 + minor;
        String best = null;
        for (int arch : PTX_ARCHS) {
            String path = ROOT + CudaBackend.MODULE + ".compute_" + arch + ".ptx";
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
