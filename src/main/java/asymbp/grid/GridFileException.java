package asymbp.grid;

/** A grid file cannot be used; the message names the file, the key and the offending value. */
public class GridFileException extends RuntimeException {
    public GridFileException(String message) { super(message); }
}
