package asymbp.cuda;

import asymbp.backend.Backend;
import asymbp.backend.BackendProvider;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The probe on whatever machine runs the tests: with a usable GPU the backend opens and names its
 * device; without one (no libcuda.so.1, no device) it refuses with one clear line and no linkage error
 * escapes. Both outcomes are checked, so the test runs (and can fail) everywhere.
 */
class CudaProbeTest {

    @Test
    void openEitherSucceedsOrRefusesWithOneLine() {
        BackendProvider p;
        try {
            p = Backends.provider("cuda");
        } catch (BackendUnavailableException e) {
            fail("the cuda provider class must load without native code: " + e.getMessage());
            return;
        }
        assertEquals("cuda", p.name());
        try (Backend b = p.open(0)) {
            System.out.println("[cuda] opened: " + b.deviceName() + " via " + ((CudaDevice) ((asymbp.backend.DeviceBackend) b).device()).moduleSources());
            assertEquals("cuda", b.name());
            assertFalse(b.deviceName().isBlank());
        } catch (BackendUnavailableException e) {
            System.out.println("[cuda] unavailable here: " + e.getMessage());
            assertOneLine(e.getMessage());
            assertTrue(e.getMessage().startsWith("cuda: "), e.getMessage());
        } catch (AssertionError a) {
            throw a;
        } catch (Throwable t) {
            fail("the cuda probe let " + t + " escape; it must become a BackendUnavailableException");
        }
    }

    @Test
    void devicesAndRepeatedProbesAgree() {
        String first = outcome(), second = outcome();
        assertEquals(first, second, "the probe outcome is cached and stable");
    }

    private static String outcome() {
        try {
            List<String> d = new CudaProvider().devices();
            assertFalse(d.isEmpty(), "devices() succeeded with an empty list");
            d.forEach(CudaProbeTest::assertOneLine);
            return "devices " + d;
        } catch (BackendUnavailableException e) {
            assertOneLine(e.getMessage());
            return "unavailable " + e.getMessage();
        } catch (AssertionError a) {
            throw a;
        } catch (Throwable t) {
            fail("devices() let " + t + " escape");
            return null;
        }
    }

    @Test
    void badDeviceIndexIsOneLine() {
        try (Backend b = new CudaProvider().open(1 << 20)) {
            fail("device 2^20 opened: " + b.deviceName());
        } catch (BackendUnavailableException e) {
            assertOneLine(e.getMessage());
            assertTrue(e.getMessage().startsWith("cuda: "), e.getMessage());
        }
    }

    @Test
    void autoReportsCudaAndMovesOn() {
        List<String> log = new ArrayList<>();
        boolean cudaOpens;
        try (Backend b = new CudaProvider().open(0)) {
            cudaOpens = true;
        } catch (BackendUnavailableException e) {
            cudaOpens = false;
        }
        // The cpu backend always opens, so auto must give a backend.
        try (Backend b = Backends.open("auto", 0, log::add)) {
            if (cudaOpens) assertEquals("cuda", b.name());
            else assertFalse(b.name().equals("cuda"));
        } catch (BackendUnavailableException e) {
            fail("auto opened no backend: " + e.getMessage());
        }
        if (!cudaOpens) {
            assertTrue(log.size() >= 1 && log.get(0).startsWith("backend cuda unavailable: cuda: "), "log: " + log);
            assertOneLine(log.get(0));
        }
    }

    static void assertOneLine(String msg) {
        assertTrue(msg != null && !msg.isBlank(), "empty message");
        assertFalse(msg.contains("\n") || msg.contains("\r"), "message must be one line: " + msg);
        assertTrue(msg.length() < 300, "message too long for one line: " + msg);
    }
}
