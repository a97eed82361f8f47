package asymbp.io;

/** A weights file (.npy) is missing or does not fit; the message names the file and what was expected. */
public class WeightsException extends RuntimeException {
    public WeightsException(String message) { super(message); }
    public WeightsException(String message, Throwable cause) { super(message, cause); }
}
