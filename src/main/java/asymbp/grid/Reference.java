package asymbp.grid;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Published numbers a grid is compared with, from the grid file's optional {@code reference:} block:
 *
 * <pre>
 * reference:
 *   source: "BioTorch Benchmarks.md, github.com/jsalbert/biotorch"
 *   commit: 2c85c71d28d82548b61d26dafcf7493f92664a9a
 *   metric: best                  # best: the best epoch's test error; final: the last epoch's
 *   values: {mnist: {bp: 0.91, fa: 1.7}, fashion-mnist: {bp: 9.2}}   # test error in percent
 *   tolerance: {mnist: 0.1, fashion-mnist: 0.5}                      # optional, points
 *   note: "best-validation epoch, the test set as validation set"     # optional
 * </pre>
 *
 * Every dataset and mode named must be in the grid (a typo would otherwise drop a row silently).
 *
 * @param values    dataset → mode → test error (percent), in file order
 * @param tolerance dataset → allowed |ours − reference| in points; empty when not given
 */
public record Reference(String source, String commit, String metric, Map<String, Map<String, Double>> values,
                        Map<String, Double> tolerance, String note) {

    public static final Set<String> KEYS = Set.of("source", "commit", "metric", "values", "tolerance", "note");
    public static final String BEST = "best", FINAL = "final";

    public boolean best() { return BEST.equals(metric); }

    /** The reference block {@code n} of grid file {@code where}, checked against the grid's datasets and modes. */
    static Reference parse(JsonNode n, String where, List<String> datasets, List<String> feedback) {
        if (!n.isObject()) throw bad(where, "reference", n, "a mapping (source, commit, metric, values, tolerance)");
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k))
                throw new GridFileException(where + ": unknown key 'reference." + k
                        + "' (known keys: source, commit, metric, values, tolerance, note)");
        }
        String source = text(n, where, "source", true);
        String commit = text(n, where, "commit", false);
        String metric = text(n, where, "metric", true);
        if (!metric.equals(BEST) && !metric.equals(FINAL))
            throw bad(where, "reference.metric", n.get("metric"), "best or final");
        JsonNode v = n.get("values");
        if (v == null || !v.isObject() || v.isEmpty())
            throw bad(where, "reference.values", v, "a mapping dataset → {mode: test error in percent}");
        Map<String, Map<String, Double>> values = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
            var d = it.next();
            String key = "reference.values." + d.getKey();
            if (!datasets.contains(d.getKey()))
                throw bad(where, "reference.values", d.getKey(), "a dataset of the grid (" + String.join(", ", datasets) + ")");
            if (!d.getValue().isObject() || d.getValue().isEmpty())
                throw bad(where, key, d.getValue(), "a mapping mode → test error in percent");
            Map<String, Double> modes = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> mt = d.getValue().fields(); mt.hasNext(); ) {
                var m = mt.next();
                if (!feedback.contains(m.getKey()))
                    throw bad(where, key, m.getKey(), "a feedback mode of the grid (" + String.join(", ", feedback) + ")");
                modes.put(m.getKey(), percent(where, key + "." + m.getKey(), m.getValue()));
            }
            values.put(d.getKey(), java.util.Collections.unmodifiableMap(modes));
        }
        Map<String, Double> tolerance = new LinkedHashMap<>();
        JsonNode t = n.get("tolerance");
        if (t != null && !t.isNull()) {
            if (!t.isObject()) throw bad(where, "reference.tolerance", t, "a mapping dataset → points");
            for (Iterator<Map.Entry<String, JsonNode>> it = t.fields(); it.hasNext(); ) {
                var e = it.next();
                if (!values.containsKey(e.getKey()))
                    throw bad(where, "reference.tolerance", e.getKey(), "a dataset of reference.values ("
                            + String.join(", ", values.keySet()) + ")");
                tolerance.put(e.getKey(), percent(where, "reference.tolerance." + e.getKey(), e.getValue()));
            }
        }
        return new Reference(source, commit, metric, java.util.Collections.unmodifiableMap(values),
                java.util.Collections.unmodifiableMap(tolerance), text(n, where, "note", false));
    }

    private static String text(JsonNode n, String where, String key, boolean required) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) {
            if (required) throw new GridFileException(where + ": missing key 'reference." + key + "'");
            return null;
        }
        if (!v.isValueNode() || v.asText().isBlank()) throw bad(where, "reference." + key, v, "a string");
        return v.asText().trim();
    }

    private static double percent(String where, String key, JsonNode v) {
        if (v == null || !v.isNumber() || !(v.asDouble() >= 0 && v.asDouble() <= 100))
            throw bad(where, key, v, "a number of percent points between 0 and 100");
        return v.asDouble();
    }

    private static GridFileException bad(String where, String key, Object value, String expected) {
        String got = value == null ? "nothing" : value instanceof JsonNode ? GridSpec.kind((JsonNode) value)
                : "'" + value + "'";
        return new GridFileException(where + ": key '" + key + "': expected " + expected + ", got " + got);
    }
}
