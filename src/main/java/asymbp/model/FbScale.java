package asymbp.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;

import java.util.Locale;

/**
 * {@code --fb-scale} (docs/spec.md §3): one positive number s for every layer, or {@code xavier}, each
 * layer's own Xavier scale. In files a number stays a number and xavier is the string "xavier", so
 * results and checkpoints written before xavier existed read back unchanged.
 *
 * @param value  s (NaN when xavier)
 * @param xavier per-layer Xavier scale
 */
public record FbScale(double value, boolean xavier) {

    public static final FbScale ONE = of(1.0), XAVIER = new FbScale(Double.NaN, true);

    public static FbScale of(double value) { return new FbScale(value, false); }

    /**
     * A number, a numeric string or "xavier" (any case); throws IllegalArgumentException naming --fb-scale
     * and the value otherwise.
     */
    @JsonCreator(mode = JsonCreator.Mode.DELEGATING)
    public static FbScale parse(Object given) {
        if (given instanceof FbScale f) return f;
        if (given instanceof Number n) return checked(n.doubleValue(), given);
        String s = given == null ? "" : given.toString().trim();
        if (s.toLowerCase(Locale.ROOT).equals("xavier")) return XAVIER;
        try {
            return checked(Double.parseDouble(s), given);
        } catch (NumberFormatException e) {
            throw bad(given);
        }
    }

    private static FbScale checked(double v, Object given) {
        if (!(v > 0) || Double.isInfinite(v)) throw bad(given);
        return of(v);
    }

    private static IllegalArgumentException bad(Object given) {
        return new IllegalArgumentException("--fb-scale " + given + ": must be a positive number or xavier");
    }

    /** As written to files: the number, or "xavier". */
    @JsonValue
    public Object json() { return xavier ? "xavier" : (Object) value; }

    @Override public String toString() { return xavier ? "xavier" : String.valueOf(value); }
}
