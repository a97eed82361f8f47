package asymbp.train;

import asymbp.backend.Backend;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;

/** The backends the engine tests run on: the plain reference, and the real CPU backend. */
public final class TestBackends {
    private TestBackends() {}

    public static Backend open(String name) {
        if (name.equals("reference")) return new ReferenceBackend();
        try {
            return Backends.provider(name).open(0);
        } catch (BackendUnavailableException e) {
            throw new AssertionError("backend " + name + " must open on every machine: " + e.getMessage(), e);
        }
    }
}
