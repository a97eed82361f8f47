package asymbp.backend;

/** A backend cannot open on this machine; the message is one line that says why. */
public class BackendUnavailableException extends Exception {
    public BackendUnavailableException(String oneLine) { super(oneLine); }
    public BackendUnavailableException(String oneLine, Throwable cause) { super(oneLine, cause); }
}
