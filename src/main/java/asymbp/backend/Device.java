package asymbp.backend;

/**
 * The seam under {@link DeviceBackend}: what one compute API (CUDA, OpenCL) must do for the ops' plans.
 * Memory is raw allocations ({@link #alloc} returns the API's handle, wrapped by the plan in
 * {@link DeviceBuffer} views); transfers and fills work on views the plan has already checked.
 *
 * <p>Kernel arguments ({@link #launch}) are, in order, one of: a {@link DeviceBuffer} (a required buffer),
 * an {@link Opt} (a nullable one), an {@code Integer}, a {@code Float} or a {@code Long} (64-bit). How
 * they reach the kernel is the API's business: CUDA passes one pointer per buffer (already offset; an
 * absent Opt is the null pointer), OpenCL passes (cl_mem, int offset) and for an Opt also an int has-flag.
 */
public interface Device extends AutoCloseable {

    /** "cuda" or "opencl". */
    String name();

    /** Human-readable device description. */
    String description();

    /** Whether the CUDA-tuned kernel versions (2 and up) exist here; otherwise every op runs version 1. */
    boolean tuned();

    /** Multiprocessors or compute units: the plan sizes grids to keep them busy. */
    int units();

    /** A CPU device: version 1's barrier-free "direct" products are faster there than local-memory tiles. */
    boolean cpu();

    /**
     * Version 1's products without barriers ("direct") rather than local-memory tiles: the plan's
     * starting choice. Default: on CPU devices, where they are faster; a device may let a property of
     * its own API decide (OpenCL: -Dasymbp.opencl.products).
     */
    default boolean directProducts() { return cpu(); }

    /** Whether replays may use the device's own ({@link #replay}); a device may let a property turn them off. */
    default boolean ownReplay() { return true; }

    /**
     * Materialise V when a tiled product would regenerate each element at least this many times (a
     * benchmark option; CUDA: -Dasymbp.cuda.materializeV). Default: never.
     */
    default int materializeFactor() { return Integer.MAX_VALUE; }

    /** The memory a run may allocate here (queried now), or null when the API cannot say. */
    default DeviceMemory memory() { return null; }

    /** A new allocation of {@code bytes} (at least 1); returns the API's handle. */
    Object alloc(long bytes);

    /** Releases an allocation; the plan has drained the queue first. */
    void free(Object handle);

    /** Copies {@code n} elements of a float[], int[] or byte[] into the view (synchronously). */
    void upload(DeviceBuffer dst, Object array, int n);

    /** Copies {@code n} elements of the view into a float[] or int[], after all earlier work. */
    void download(Object array, int n, DeviceBuffer src);

    /** Sets every element of an F32 view to {@code value} (asynchronously). */
    void fill(DeviceBuffer dst, float value);

    /** Copies between views of the same dtype and length (asynchronously). */
    void copy(DeviceBuffer dst, DeviceBuffer src);

    /** Enqueues {@code kernel} on a gx×gy×gz grid of blocks (work-groups) of {@code block} threads. */
    void launch(Kernel kernel, int gx, int gy, int gz, int block, Object[] args);

    /** Waits for everything enqueued. */
    void sync();

    /** Releases the device's queue, modules and internal buffers (the plan frees its own first). */
    @Override void close();

    /**
     * A replay of many steps that only this API can do (CUDA: a captured graph), or null for the plan's
     * own device-guarded replay.
     */
    default StepReplay replay(DeviceBackend be, TrainStep step, Buffer stats, int batch, double bound) { return null; }

    /** A nullable buffer argument. */
    record Opt(Buffer buffer) {}
}
