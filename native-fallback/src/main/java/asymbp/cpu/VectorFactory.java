package asymbp.cpu;

import java.util.function.Supplier;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.LongVector;

/** The Vector API kernels sized to this CPU's preferred vector width. */
final class VectorFactory implements Kernels.Factory {
    @Override
    public MicroKernel kernel() {
        int bits = FloatVector.SPECIES_PREFERRED.vectorBitSize();
        if (bits >= 512) return new VectorKernel512();
        if (bits >= 256) return new VectorKernel256();
        return null;
    }

    @Override
    public BatchNormKernels batchNorm() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? new VectorBatchNormKernels() : new BatchNormKernels();
    }

    @Override
    public PoolKernel pool() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? new VectorPoolKernel() : new PoolKernel();
    }

    @Override
    public UpdateKernel update() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? new VectorUpdateKernel() : new UpdateKernel();
    }

    @Override
    public DotKernel dot() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? new VectorDotKernel() : new DotKernel();
    }

    @Override
    public Supplier<FeedbackRow> feedback() {
        // 64-bit lane multiplies are only native with AVX-512; elsewhere the scalar generator is faster.
        return LongVector.SPECIES_PREFERRED.vectorBitSize() >= 512 ? VectorFeedbackRow::new : null;
    }
}
