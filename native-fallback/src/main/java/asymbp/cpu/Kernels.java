package asymbp.cpu;

import java.util.function.Supplier;

/**
 * Picks the compute kernels: the Vector API ones when the jdk.incubator.vector module is in the boot
 * layer (the JVM was started with --add-modules jdk.incubator.vector) and the CPU has wide vectors,
 * the plain-Java ones otherwise. Classes that import jdk.incubator.vector are only ever named here,
 * by reflection, after the probe, so a JVM without the module never tries to link them.
 */
final class Kernels {
    /** Implemented by the Vector API factory; created reflectively. */
    interface Factory {
        /** null when the CPU's vectors are too narrow to be worth it. */
        MicroKernel kernel();
        /** null to use the scalar generator. */
        Supplier<FeedbackRow> feedback();
        DotKernel dot();
        BatchNormKernels batchNorm();
        PoolKernel pool();
        UpdateKernel update();
    }

    static final boolean VECTOR_MODULE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    final MicroKernel kernel;
    final Supplier<FeedbackRow> feedback;
    final DotKernel dot;
    final BatchNormKernels batchNorm;
    final PoolKernel pool;
    final UpdateKernel update;
    final String description;

    private Kernels(MicroKernel kernel, Supplier<FeedbackRow> feedback, DotKernel dot, BatchNormKernels batchNorm,
                    PoolKernel pool, UpdateKernel update, String description) {
        this.kernel = kernel;
        this.feedback = feedback;
        this.dot = dot;
        this.batchNorm = batchNorm;
        this.pool = pool;
        this.update = update;
        this.description = description;
    }

    static Kernels scalar(String why) {
        return new Kernels(new ScalarKernel(), FeedbackRow::new, new DotKernel(), new BatchNormKernels(), new PoolKernel(), new UpdateKernel(),
                "scalar (" + why + ")");
    }

    /** The fastest kernels this JVM and CPU allow. */
    static Kernels best() {
        if (!VECTOR_MODULE) return scalar("jdk.incubator.vector absent");
        try {
            Factory f = (Factory) Class.forName("asymbp.cpu.VectorFactory").getDeclaredConstructor().newInstance();
            MicroKernel k = f.kernel();
            if (k == null) return scalar("vectors narrower than 256 bits");
            Supplier<FeedbackRow> p = f.feedback() != null ? f.feedback() : FeedbackRow::new;
            return new Kernels(k, p, f.dot(), f.batchNorm(), f.pool(), f.update(), k.describe());
        } catch (ReflectiveOperationException | LinkageError e) {
            return scalar("Vector API failed to load: " + e);
        }
    }
}
