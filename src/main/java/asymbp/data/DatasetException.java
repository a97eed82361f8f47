package asymbp.data;

/**
 * A dataset could not be loaded. The message always starts with the file (or spec) concerned and says
 * what is wrong with it (offset, expected versus found), so it can be shown to a user as it is.
 */
public class DatasetException extends RuntimeException {
    public DatasetException(String message) {
        super(message);
    }

    public DatasetException(String message, Throwable cause) {
        super(message, cause);
    }
}
