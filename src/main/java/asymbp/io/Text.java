package asymbp.io;

/** Small text helpers for one-line error messages. */
public final class Text {
    private Text() {}

    /** The first line of {@code s} ("(no message)" for null): error messages stay one line. */
    public static String firstLine(String s) {
        if (s == null) return "(no message)";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
