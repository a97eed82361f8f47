package asymbp.data;

import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * A parsed dataset spec: {@code name[?options]} or {@code kind:PATH[?options]}, options being
 * {@code key=value} pairs joined by {@code &}. Every option must be used by the loader, so a typo is an
 * error rather than a silently ignored setting.
 */
final class Spec {
    final String text;
    final String kind;
    /** The part after "kind:", or null for a bare name. */
    final String path;
    private final Map<String, String> options = new LinkedHashMap<>();
    private final Set<String> used = new LinkedHashSet<>();

    private Spec(String text, String kind, String path) {
        this.text = text;
        this.kind = kind;
        this.path = path;
    }

    static Spec parse(String text) {
        if (text == null || text.isBlank()) throw new DatasetException("dataset spec is empty: expected a name such as mnist or kind:PATH");
        String body = text.strip();
        String query = null;
        int q = body.lastIndexOf('?');
        if (q >= 0) {
            query = body.substring(q + 1);
            body = body.substring(0, q);
        }
        String kind, path = null;
        int colon = body.indexOf(':');
        // A one-letter kind is a Windows drive ("C:\data"), not a loader.
        if (colon > 1) {
            kind = body.substring(0, colon).toLowerCase();
            path = body.substring(colon + 1);
            if (path.isEmpty()) throw new DatasetException("dataset spec '" + text + "': no path after '" + kind + ":'");
        } else {
            kind = body.toLowerCase();
        }
        Spec s = new Spec(text, kind, path);
        if (query != null && !query.isEmpty())
            for (String pair : query.split("&")) {
                int eq = pair.indexOf('=');
                if (eq <= 0 || eq == pair.length() - 1)
                    throw new DatasetException("dataset spec '" + text + "': option '" + pair + "' is not key=value");
                String key = pair.substring(0, eq).strip().toLowerCase();
                if (s.options.put(key, pair.substring(eq + 1).strip()) != null)
                    throw new DatasetException("dataset spec '" + text + "': option '" + key + "' given twice");
            }
        return s;
    }

    /** A spec with the same options but another kind and path (for aliases resolving to a directory). */
    Spec redirect(String newKind, String newPath) {
        Spec s = new Spec(text, newKind, newPath);
        s.options.putAll(options);
        return s;
    }

    /** Records the options another spec (this one's redirect) used as used here too. */
    void markUsed(Spec other) {
        used.addAll(other.used);
    }

    boolean has(String key) { return options.containsKey(key); }

    String string(String key, String dflt, String... allowed) {
        used.add(key);
        String v = options.getOrDefault(key, dflt);
        if (allowed.length == 0) return v;
        for (String a : allowed) if (a.equalsIgnoreCase(v)) return a;
        throw new DatasetException("dataset spec '" + text + "': option " + key + "=" + v + " not one of "
                + String.join(", ", allowed));
    }

    int integer(String key, int dflt, int min, int max) {
        used.add(key);
        String v = options.get(key);
        if (v == null) return dflt;
        try {
            int x = Integer.parseInt(v);
            if (x >= min && x <= max) return x;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new DatasetException("dataset spec '" + text + "': option " + key + "=" + v + " is not an integer in "
                + min + ".." + max);
    }

    long longValue(String key, long dflt) {
        used.add(key);
        String v = options.get(key);
        if (v == null) return dflt;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new DatasetException("dataset spec '" + text + "': option " + key + "=" + v + " is not an integer");
        }
    }

    double fraction(String key, double dflt, double min, double max) {
        used.add(key);
        String v = options.get(key);
        if (v == null) return dflt;
        try {
            double x = Double.parseDouble(v);
            if (x >= min && x <= max) return x;
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new DatasetException("dataset spec '" + text + "': option " + key + "=" + v + " is not a number in "
                + min + ".." + max);
    }

    /** Fails on any option the loader did not ask for. */
    void checkAllUsed() {
        for (String k : options.keySet())
            if (!used.contains(k))
                throw new DatasetException("dataset spec '" + text + "': unknown option '" + k + "' for " + kind
                        + (used.isEmpty() ? " (it takes no options)" : " (known: " + String.join(", ", used) + ")"));
    }
}
