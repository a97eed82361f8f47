package asymbp.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The provider's one device names the thread count (singular for one) and the kernels it will use. */
class CpuProviderNameTest {
    @Test
    void deviceNameSaysThreadsAndKernels() {
        int threads = Runtime.getRuntime().availableProcessors();
        String want = "cpu: " + threads + (threads == 1 ? " thread, " : " threads, ") + Kernels.best().description;
        assertEquals(java.util.List.of(want), new CpuProvider().devices());
    }
}
