package asymbp.io;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The one Jackson configuration of every file asymbp reads or writes: snake_case names (test_error,
 * weight_decay), indented, unknown fields ignored (newer files read by older code). {@link #MAPPER} for
 * JSON, {@link #YAML} for grid and config files, {@link #REPORT} for result.json.
 */
public final class Json {
    private Json() {}

    private static ObjectMapper configure(ObjectMapper m) {
        return m.setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
                .enable(SerializationFeature.INDENT_OUTPUT)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    }

    /** Round-trips every value (NaN and ±Infinity as the strings Jackson reads back): checkpoints, grid stores. */
    public static final ObjectMapper MAPPER = configure(new ObjectMapper());

    /** The same configuration over YAML: grid files and {@code train --config} files. */
    public static final ObjectMapper YAML = configure(new ObjectMapper(new YAMLFactory()));

    /**
     * For files people and other programs read (result.json): a value that is not a finite number is
     * written as null, so every number is a JSON number.
     */
    public static final ObjectMapper REPORT = MAPPER.copy().registerModule(new SimpleModule()
            .addSerializer(Double.class, new FiniteOrNull<>())
            .addSerializer(Double.TYPE, new FiniteOrNull<>())
            .addSerializer(Float.class, new FiniteOrNull<>())
            .addSerializer(Float.TYPE, new FiniteOrNull<>()));

    /**
     * {@code n} with every object key in snake_case (testError → test_error), recursively: files written
     * before the one naming style (grid cell files used camelCase) read as today's.
     */
    public static JsonNode snakeKeys(JsonNode n) {
        if (n.isArray()) {
            for (int i = 0; i < n.size(); i++) ((com.fasterxml.jackson.databind.node.ArrayNode) n).set(i, snakeKeys(n.get(i)));
            return n;
        }
        if (!n.isObject()) return n;
        ObjectNode o = (ObjectNode) n;
        List<Map.Entry<String, JsonNode>> fields = new ArrayList<>();
        o.fields().forEachRemaining(fields::add);
        ObjectNode out = MAPPER.createObjectNode();
        var snake = new PropertyNamingStrategies.SnakeCaseStrategy();
        for (Map.Entry<String, JsonNode> e : fields) {
            String k = snake.translate(e.getKey());
            // A file holding both spellings keeps the snake_case value.
            if (!out.has(k) || k.equals(e.getKey())) out.set(k, snakeKeys(e.getValue()));
        }
        return out;
    }

    private static final class FiniteOrNull<T extends Number> extends JsonSerializer<T> {
        @Override public void serialize(T v, JsonGenerator g, SerializerProvider p) throws IOException {
            double d = v.doubleValue();
            if (!Double.isFinite(d)) g.writeNull();
            else if (v instanceof Float f) g.writeNumber(f);
            else g.writeNumber(d);
        }
    }
}
