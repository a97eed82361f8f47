package asymbp.backend;

/**
 * What a device can hold, for the check a run makes before it allocates: the bytes it may use (CUDA:
 * cuMemGetInfo's free memory; OpenCL, which cannot say what is free: CL_DEVICE_GLOBAL_MEM_SIZE) and the
 * largest single allocation (OpenCL: CL_DEVICE_MAX_MEM_ALLOC_SIZE; CUDA: the free memory).
 *
 * <p>Test hook: {@code -Dasymbp.device.memory=BYTES} caps both, as if the device had only that much, so
 * that the refusal can be tested on any device (pocl in the tests).
 *
 * @param source how the numbers were found, for the message ("CL_DEVICE_GLOBAL_MEM_SIZE", ...)
 */
public record DeviceMemory(long available, long largestAllocation, String source) {

    /** The test hook's property. */
    public static final String CAP = "asymbp.device.memory";

    /** The device's own numbers, capped by {@code -Dasymbp.device.memory} when it is set. */
    public static DeviceMemory of(long available, long largestAllocation, String source) {
        String cap = System.getProperty(CAP);
        if (cap == null) return new DeviceMemory(available, largestAllocation, source);
        long c;
        try {
            c = Long.parseLong(cap.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-D" + CAP + "=" + cap + ": expected a number of bytes");
        }
        return new DeviceMemory(Math.min(available, c), Math.min(largestAllocation, c), source + ", capped by -D" + CAP + "=" + c);
    }
}
