package asymbp.opencl;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.Kernel;
import asymbp.conformance.DeviceBackends;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** OpenCL runs version 1 of every op, reports it, and refuses a tuned version with one line. */
class OpenClKernelVersionsTest {

    @Test
    void runsAndReportsVersionOne() {
        try (Backend be = DeviceBackends.openOrSkip("opencl")) {
            Buffer a = be.alloc(DType.F32, 64), b = be.alloc(DType.F32, 64), c = be.alloc(DType.F32, 64);
            be.fill(a, 1f);
            be.fill(b, 2f);
            be.linearForward(c, a, b, null, 8, 8, 8, false);
            float[] y = new float[64];
            be.download(y, c);
            be.maxpoolForward(b.slice(0, 16), be.alloc(DType.I32, 16), a, 1, 1, 8, 8, 2);
            assertEquals(16f, y[0], "linear_forward of ones and twos, 8 terms");
            Map<String, String> v = be.kernelVersions();
            assertEquals(Map.of("linear_forward", "v1", "maxpool_forward", "v1"), v);
        }
    }

    @Test
    void aTunedVersionIsRefusedWithOneLine() {
        try (Backend probe = DeviceBackends.openOrSkip("opencl")) {
            // a device is there
        }
        String was = System.setProperty("asymbp.kernels.linear_forward", "3");
        try {
            BackendUnavailableException e = assertThrows(BackendUnavailableException.class, () -> new OpenClProvider().open(0));
            assertEquals("opencl: -Dasymbp.kernels.linear_forward=3: kernel version 3 of linear_forward: opencl has versions 1..1",
                    e.getMessage());
            assertTrue(!e.getMessage().contains("\n"), e.getMessage());
            assertEquals(3, Kernel.maxVersion("linear_forward"), "CUDA has three");
        } finally {
            if (was == null) System.clearProperty("asymbp.kernels.linear_forward");
            else System.setProperty("asymbp.kernels.linear_forward", was);
        }
    }
}
