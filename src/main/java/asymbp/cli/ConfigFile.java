package asymbp.cli;

import asymbp.io.Json;
import asymbp.train.TrainConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * {@code train --config FILE}: a YAML mapping of {@link TrainConfig.Option} keys to one value each, the
 * keys of a grid file's train options. Bound through {@link Json}, as checkpoints are; every problem is
 * an IllegalArgumentException with one line naming the file, the key and the value.
 */
final class ConfigFile {
    private final String where;
    private final ObjectNode values;

    private ConfigFile(String where, ObjectNode values) {
        this.where = where;
        this.values = values;
    }

    /** Reads and checks the keys of {@code file}; the values are checked when applied. */
    static ConfigFile read(Path file) {
        String where = "--config " + file;
        JsonNode root;
        try {
            root = Json.YAML.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            var loc = e.getLocation();
            throw new IllegalArgumentException(where + ": not valid YAML"
                    + (loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr())
                    + ": " + e.getOriginalMessage().lines().findFirst().orElse(""));
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new IllegalArgumentException(where + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(where + ": cannot read (" + Main.oneLine(e) + ")");
        }
        if (root == null || root.isMissingNode() || root.isNull())
            throw new IllegalArgumentException(where + ": empty (expected option keys: " + keys() + ")");
        if (!root.isObject())
            throw new IllegalArgumentException(where + ": expected a mapping of option keys (lr: 0.01, epochs: 2, ...), got "
                    + (root.isArray() ? "a list" : "'" + root.asText() + "'"));
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            TrainConfig.Option o = TrainConfig.Option.byKey(k);
            if (o == null || o == TrainConfig.Option.RESUME)
                throw new IllegalArgumentException(where + ": unknown key '" + k + "' (known keys: " + keys() + ")");
            JsonNode v = root.get(k);
            if (v.isNull() && o != TrainConfig.Option.INIT)
                throw new IllegalArgumentException(where + ": key '" + k + "': no value");
        }
        return new ConfigFile(where, (ObjectNode) root);
    }

    private static String keys() {
        return Arrays.stream(TrainConfig.Option.values()).filter(o -> o != TrainConfig.Option.RESUME)
                .map(o -> o.key).collect(Collectors.joining(", "));
    }

    /** {@code base} with this file's values; a value of the wrong kind is refused naming its key. */
    TrainConfig apply(TrainConfig base) {
        ObjectNode n = Json.MAPPER.valueToTree(base);
        values.fields().forEachRemaining(e -> n.set(e.getKey(), e.getValue()));
        try {
            return Json.MAPPER.readerFor(TrainConfig.class)
                    .without(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                    .with(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                    .readValue(n);
        } catch (MismatchedInputException e) {
            String key = e.getPath().isEmpty() ? "?" : e.getPath().get(0).getFieldName();
            throw new IllegalArgumentException(where + ": key '" + key + "': " + shown(values.get(key))
                    + ": expected " + expected(e.getTargetType()));
        } catch (IOException e) {
            // A value a type's own parser refused (FbScale): its message names the flag, shown as this file's key.
            if (e.getCause() instanceof IllegalArgumentException bad)
                throw new IllegalArgumentException(message(bad.getMessage(), Set.of()), e);
            throw new IllegalArgumentException(where + ": " + Main.oneLine(e));
        }
    }

    private static String shown(JsonNode v) {
        if (v == null) return "?";
        if (v.isContainerNode()) return v.toString();
        return "'" + v.asText() + "'";
    }

    private static String expected(Class<?> t) {
        if (t == null) return "another kind of value";
        if (t == int.class || t == long.class || t == Integer.class || t == Long.class) return "an integer";
        if (t == double.class || t == Double.class) return "a number";
        if (t == boolean.class || t == Boolean.class) return "true or false";
        if (List.class.isAssignableFrom(t)) return "a list of integers";
        if (t == String.class) return "a single value";
        return "a " + t.getSimpleName();
    }

    /**
     * Refuses a bad value that came from this file with the file's key in the message: {@code cfg}'s
     * checks name flags, and a flag not given on the command line ({@code given}) was the file's key.
     */
    void validate(TrainConfig cfg, Set<String> given) {
        try {
            cfg.validate();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(message(e.getMessage(), given), e);
        }
    }

    /** {@code m}, "--flag VALUE: why", as "--config FILE: key 'k': 'VALUE': why" when the file gave k. */
    String message(String m, Set<String> given) {
        for (TrainConfig.Option o : TrainConfig.Option.values())
            if (m.startsWith(o.flag + " ") && values.has(o.key) && !given.contains(o.flag)) {
                String rest = m.substring(o.flag.length() + 1);
                int colon = rest.indexOf(": ");
                return colon < 0 ? where + ": key '" + o.key + "': " + rest
                        : where + ": key '" + o.key + "': '" + rest.substring(0, colon) + "'" + rest.substring(colon);
            }
        return m;
    }
}
