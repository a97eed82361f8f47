package asymbp.backend;

import java.util.ArrayList;
import java.util.List;

/**
 * Every kernel the device backends launch: its name (the constant in lower case), the op file that
 * holds it ({@code kernels/<module>.cl} for version 1, {@code kernels/<module>.cu} for all versions;
 * one CUDA module per file) and its version: 1 is the portable body that OpenCL and CUDA share, 2 and up
 * are the CUDA-tuned ones. Names, files and versions are the contract with the kernel sources; CudaArtifactsTest
 * and CudaLaunchAbiTest hold the two sides to it.
 */
public enum Kernel {
    GATHER_STANDARDIZE("gather_standardize", 1),
    GATHER_STANDARDIZE_V2("gather_standardize", 2),
    LINEAR_FORWARD("linear_forward", 1),
    LINEAR_FORWARD_DIRECT("linear_forward", 1),
    LINEAR_FORWARD_V2("linear_forward", 2),
    LINEAR_FORWARD_V3("linear_forward", 3),
    LINEAR_BACKWARD("linear_backward", 1),
    LINEAR_BACKWARD_DW_DIRECT("linear_backward", 1),
    LINEAR_BACKWARD_DX_DIRECT("linear_backward", 1),
    LINEAR_BACKWARD_V2_DX("linear_backward", 2),
    LINEAR_BACKWARD_V2_DW("linear_backward", 2),
    LINEAR_BACKWARD_V2_DB("linear_backward", 2),
    LINEAR_BACKWARD_V3_DX("linear_backward", 3),
    LINEAR_BACKWARD_V3_DW("linear_backward", 3),
    LINEAR_BACKWARD_V4_MATERIALIZE("linear_backward", 4),
    CONV2D_FORWARD("conv2d_forward", 1),
    CONV2D_FORWARD_V2("conv2d_forward", 2),
    CONV2D_FORWARD_V3("conv2d_forward", 3),
    CONV2D_BACKWARD("conv2d_backward", 1),
    CONV2D_BACKWARD_REDUCE("conv2d_backward", 1),
    CONV2D_BACKWARD_V2_DX("conv2d_backward", 2),
    CONV2D_BACKWARD_V2_DW("conv2d_backward", 2),
    CONV2D_BACKWARD_V2_REDUCE("conv2d_backward", 2),
    CONV2D_BACKWARD_V2_DB("conv2d_backward", 2),
    CONV2D_BACKWARD_V3_DX("conv2d_backward", 3),
    CONV2D_BACKWARD_V3_DW("conv2d_backward", 3),
    CONV2D_BACKWARD_V4_MATERIALIZE("conv2d_backward", 4),
    BATCHNORM_FORWARD("batchnorm_forward", 1),
    BATCHNORM_FORWARD_V2_NCHW("batchnorm_forward", 2),
    BATCHNORM_FORWARD_V2_ROWS("batchnorm_forward", 2),
    BATCHNORM_FORWARD_V2_EVAL("batchnorm_forward", 2),
    BATCHNORM_FORWARD_V3_PARTIAL("batchnorm_forward", 3),
    BATCHNORM_FORWARD_V3_COMBINE("batchnorm_forward", 3),
    BATCHNORM_FORWARD_V3_APPLY("batchnorm_forward", 3),
    BATCHNORM_BACKWARD("batchnorm_backward", 1),
    BATCHNORM_BACKWARD_V2_NCHW("batchnorm_backward", 2),
    BATCHNORM_BACKWARD_V2_ROWS("batchnorm_backward", 2),
    BATCHNORM_BACKWARD_V3_PARTIAL("batchnorm_backward", 3),
    BATCHNORM_BACKWARD_V3_COMBINE("batchnorm_backward", 3),
    BATCHNORM_BACKWARD_V3_APPLY("batchnorm_backward", 3),
    MAXPOOL_FORWARD("maxpool_forward", 1),
    MAXPOOL_BACKWARD("maxpool_backward", 1),
    SOFTMAX_CROSS_ENTROPY("softmax_cross_entropy", 1),
    SOFTMAX_CROSS_ENTROPY_V2("softmax_cross_entropy", 2),
    APPLY_UPDATE("apply_update", 1),
    APPLY_UPDATE_V2("apply_update", 2),
    STEP_GUARD("step_replay", 1),
    APPLY_UPDATE_GUARDED("step_replay", 1),
    STATS_ACCUMULATE("step_replay", 1),
    STEP_REPLAY_V2_ADVANCE("step_replay", 2),
    STEP_REPLAY_V2_GUARD("step_replay", 2),
    STEP_REPLAY_V2_ACCUMULATE("step_replay", 2);

    /** The op file (and CUDA module) that holds the kernel. */
    public final String module;
    public final int version;
    /** The kernel's name in the source. */
    public final String symbol;

    Kernel(String module, int version) {
        this.module = module;
        this.version = version;
        this.symbol = name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The op files in a fixed order: the modules the CUDA device loads, the files the OpenCL program joins. */
    public static List<String> modules() {
        List<String> out = new ArrayList<>();
        for (Kernel k : values()) if (!out.contains(k.module)) out.add(k.module);
        return out;
    }

    /** The kernels of one op file. */
    public static List<Kernel> of(String module) {
        List<Kernel> out = new ArrayList<>();
        for (Kernel k : values()) if (k.module.equals(module)) out.add(k);
        return out;
    }

    /** The newest version an op file holds. */
    public static int maxVersion(String module) {
        int v = 0;
        for (Kernel k : of(module)) v = Math.max(v, k.version);
        if (v == 0) throw new IllegalArgumentException("no kernel file '" + module + "' (expected one of " + modules() + ")");
        return v;
    }

    @Override public String toString() { return symbol; }
}
