package asymbp.io;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.module.SimpleModule;

import java.io.IOException;

/** The Jackson mappers: snake_case names (test_error, images_per_second), indented. */
public final class Json {
    private Json() {}

    /** Round-trips every value (NaN and ±Infinity as the strings Jackson reads back): checkpoints, grid stores. */
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /**
     * For files people and other programs read (result.json): a value that is not a finite number is
     * written as null, so every number is a JSON number.
     */
    public static final ObjectMapper REPORT = MAPPER.copy().registerModule(new SimpleModule()
            .addSerializer(Double.class, new FiniteOrNull<>())
            .addSerializer(Double.TYPE, new FiniteOrNull<>())
            .addSerializer(Float.class, new FiniteOrNull<>())
            .addSerializer(Float.TYPE, new FiniteOrNull<>()));

    private static final class FiniteOrNull<T extends Number> extends JsonSerializer<T> {
        @Override public void serialize(T v, JsonGenerator g, SerializerProvider p) throws IOException {
            double d = v.doubleValue();
            if (!Double.isFinite(d)) g.writeNull();
            else if (v instanceof Float f) g.writeNumber(f);
            else g.writeNumber(d);
        }
    }
}
