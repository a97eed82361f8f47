package asymbp.cpu;

import java.util.function.Supplier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;

/**
 * The Vector API kernels sized to this CPU's preferred vector width. The choice is a function of two
 * widths (float and long lanes) so that it can be checked for every CPU class on any one machine.
 */
final class VectorFactory implements Kernels.Factory {
    private final int floatBits, longBits;

    VectorFactory() {
        this(FloatVector.SPECIES_PREFERRED.vectorBitSize(), LongVector.SPECIES_PREFERRED.vectorBitSize());
    }

    VectorFactory(int floatBits, int longBits) {
        this.floatBits = floatBits;
        this.longBits = longBits;
    }

    @Override
    public MicroKernel kernel() {
        if (floatBits >= 512) return new VectorKernel512();
        if (floatBits >= 256) return new VectorKernel256();
        return null;
    }

    // The other kernels exist in 512-bit form only (see VectorPoolKernel: one vector shape per JVM).
    private boolean wide() { return floatBits >= 512; }

    @Override
    public BatchNormKernels batchNorm() { return wide() ? new VectorBatchNormKernels() : new BatchNormKernels(); }

    @Override
    public PoolKernel pool() { return wide() ? new VectorPoolKernel() : new PoolKernel(); }

    @Override
    public UpdateKernel update() { return wide() ? new VectorUpdateKernel() : new UpdateKernel(); }

    @Override
    public DotKernel dot() { return wide() ? new VectorDotKernel() : new DotKernel(); }

    @Override
    public Supplier<FeedbackRow> feedback() {
        // 64-bit lane multiplies are only native with AVX-512; elsewhere the scalar generator is faster.
        return longBits >= 512 ? VectorFeedbackRow::new : null;
    }
}
