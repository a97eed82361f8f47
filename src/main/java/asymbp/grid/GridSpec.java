package asymbp.grid;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A grid file: the cross product of datasets × models × feedback modes × stabilisers × seeds, with
 * shared hyperparameters. YAML, for example:
 *
 * <pre>
 * name: paper-mnist-fmnist
 * datasets: [mnist, fashion-mnist]
 * models: [lenet]
 * feedback: [bp, usf, brsf, frsf, fa, "psf:0", "psf:0.5"]
 * stabilisers: [none, bn, bm, bn+bm]
 * seeds: [1, 2]
 * epochs: 2
 * batch: 64
 * lr: {sgd: 0.01, bm: 1.0e-4, bn: 0.05}   # by update rule (sgd, bm) or by stabiliser; or one number
 * momentum: 0.9
 * weight_decay: 0
 * lr_steps: []                            # epochs after which lr is multiplied by lr_factor
 * lr_factor: 0.1
 * limit: 10000                            # first N training examples; 0 = all
 * backend: cpu
 * </pre>
 *
 * A learning rate for a cell is looked up by its stabiliser's key first (none, bn, bm, bn+bm), then by
 * its update rule (sgd, bm).
 */
public record GridSpec(String name, String description, List<String> datasets, List<String> models,
                       List<String> feedback, List<Stabiliser> stabilisers, List<Long> seeds,
                       int epochs, int batch, Map<String, Double> lr, double momentum, double weightDecay,
                       List<Integer> lrSteps, double lrFactor, int limit, String backend, int device) {

    static final Set<String> KEYS = Set.of("name", "description", "datasets", "models", "feedback",
            "stabilisers", "seeds", "epochs", "batch", "lr", "momentum", "weight_decay", "lr_steps",
            "lr_factor", "limit", "backend", "device");
    private static final List<String> KEY_ORDER = List.of("name", "description", "datasets", "models",
            "feedback", "stabilisers", "seeds", "epochs", "batch", "lr", "momentum", "weight_decay",
            "lr_steps", "lr_factor", "limit", "backend", "device");

    private static final Pattern FEEDBACK = Pattern.compile("bp|usf|brsf|frsf|fa|psf:([0-9]*\\.?[0-9]+)");
    private static final Pattern MODEL = Pattern.compile("lenet|cifar|mlp:[1-9][0-9]*(-[1-9][0-9]*)*");
    private static final Set<String> BACKENDS = Set.of("auto", "cpu", "opencl", "cuda");

    /** Every cell, in run order: seed outermost, so an interrupted grid has whole seeds done first. */
    public List<CellSpec> cells() {
        List<CellSpec> out = new ArrayList<>();
        for (long seed : seeds)
            for (String d : datasets)
                for (String m : models)
                    for (Stabiliser s : stabilisers)
                        for (String f : feedback)
                            out.add(new CellSpec(d, m, f, s.key, seed, epochs, batch, lrFor(s), momentum,
                                    weightDecay, lrSteps, lrFactor, limit, backend, device));
        return out;
    }

    /** The learning rate of cells with stabiliser {@code s}: by stabiliser key, else by update rule. */
    public double lrFor(Stabiliser s) {
        Double v = lr.get(s.key);
        if (v == null) v = lr.get(s.update.cliName());
        if (v == null) v = lr.get("*");
        if (v == null) throw new IllegalStateException("no learning rate for " + s);
        return v;
    }

    // ------------------------------------------------------------------ parsing

    public static GridSpec load(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new GridFileException(file + ": no such file");
        } catch (IOException e) {
            throw new GridFileException(file + ": cannot read (" + e.getMessage() + ")");
        }
        return parse(text, file.toString());
    }

    /** Parses grid YAML; {@code where} names the source in error messages. */
    public static GridSpec parse(String yaml, String where) {
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(yaml);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String at = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new GridFileException(where + ": not valid YAML" + at + ": " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull())
            throw new GridFileException(where + ": empty grid file");
        if (!root.isObject())
            throw new GridFileException(where + ": expected a mapping of keys (datasets, models, ...), got "
                    + kind(root));
        Reader r = new Reader(where, root);
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!KEYS.contains(k))
                throw new GridFileException(where + ": unknown key '" + k + "' (known keys: "
                        + String.join(", ", KEY_ORDER) + ")");
        }

        String name = r.string("name", fileStem(where));
        String description = r.string("description", "");
        List<String> datasets = r.stringList("datasets", true);
        List<String> models = r.stringList("models", true);
        for (String m : models)
            if (!MODEL.matcher(m).matches())
                throw r.bad("models", m, "a model: lenet, cifar or mlp:W1-W2-... (hidden widths)");
        List<String> feedback = r.stringList("feedback", true);
        for (String f : feedback) {
            var mt = FEEDBACK.matcher(f);
            if (!mt.matches())
                throw r.bad("feedback", f, "a feedback mode: bp, usf, brsf, frsf, fa or psf:p with 0 <= p <= 1");
            if (mt.group(1) != null && Double.parseDouble(mt.group(1)) > 1.0)
                throw r.bad("feedback", f, "psf:p with 0 <= p <= 1");
        }
        List<Stabiliser> stabilisers = new ArrayList<>();
        for (String s : r.stringList("stabilisers", true)) {
            Stabiliser st = Stabiliser.parse(s);
            if (st == null) throw r.bad("stabilisers", s, "one of " + Stabiliser.KEYS);
            stabilisers.add(st);
        }
        List<Long> seeds = new ArrayList<>();
        for (JsonNode n : r.list("seeds", true)) {
            if (!n.isIntegralNumber() || n.asLong() < 0) throw r.bad("seeds", n, "a non-negative integer");
            seeds.add(n.asLong());
        }
        noDuplicates(r, "datasets", datasets);
        noDuplicates(r, "models", models);
        noDuplicates(r, "feedback", feedback);
        noDuplicates(r, "stabilisers", stabilisers);
        noDuplicates(r, "seeds", seeds);

        int epochs = r.positiveInt("epochs", null);
        int batch = r.positiveInt("batch", 64);
        Map<String, Double> lr = r.learningRates(stabilisers);
        double momentum = r.number("momentum", 0.0, 0.0, 1.0, "a number in [0, 1)");
        if (momentum >= 1.0) throw r.bad("momentum", root.get("momentum"), "a number in [0, 1)");
        double weightDecay = r.number("weight_decay", 0.0, 0.0, Double.MAX_VALUE, "a non-negative number");
        List<Integer> lrSteps = new ArrayList<>();
        for (JsonNode n : r.list("lr_steps", false)) {
            if (!n.isIntegralNumber() || n.asInt() < 1 || n.asInt() > epochs)
                throw r.bad("lr_steps", n, "an epoch number between 1 and epochs (" + epochs + ")");
            lrSteps.add(n.asInt());
        }
        for (int i = 1; i < lrSteps.size(); i++)
            if (lrSteps.get(i) <= lrSteps.get(i - 1))
                throw r.bad("lr_steps", r.root.get("lr_steps"), "increasing epoch numbers");
        double lrFactor = r.number("lr_factor", 0.1, Double.MIN_VALUE, Double.MAX_VALUE, "a positive number");
        int limit = r.nonNegativeInt("limit", 0);
        String backend = r.string("backend", "auto");
        if (!BACKENDS.contains(backend)) throw r.bad("backend", backend, "one of auto, cpu, opencl, cuda");
        int device = r.nonNegativeInt("device", 0);
        return new GridSpec(name, description, datasets, models, feedback, stabilisers, seeds, epochs, batch,
                lr, momentum, weightDecay, lrSteps, lrFactor, limit, backend, device);
    }

    private static <T> void noDuplicates(Reader r, String key, List<T> values) {
        for (int i = 0; i < values.size(); i++)
            if (values.indexOf(values.get(i)) != i)
                throw new GridFileException(r.where + ": key '" + key + "': value '" + values.get(i)
                        + "' is listed twice");
    }

    private static String fileStem(String where) {
        String f = Path.of(where).getFileName().toString();
        int dot = f.lastIndexOf('.');
        return dot > 0 ? f.substring(0, dot) : f;
    }

    static String kind(JsonNode n) {
        if (n.isObject()) return "a mapping";
        if (n.isArray()) return "a list";
        if (n.isNull()) return "nothing";
        return "'" + n.asText() + "'";
    }

    /** Typed access to the root mapping, with messages that name file, key and value. */
    private static final class Reader {
        final String where;
        final JsonNode root;

        Reader(String where, JsonNode root) { this.where = where; this.root = root; }

        GridFileException bad(String key, Object value, String expected) {
            String v = value instanceof JsonNode ? kind((JsonNode) value) : "'" + value + "'";
            return new GridFileException(where + ": key '" + key + "': expected " + expected + ", got " + v);
        }

        GridFileException missing(String key, String expected) {
            return new GridFileException(where + ": missing key '" + key + "' (" + expected + ")");
        }

        String string(String key, String dflt) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) return dflt;
            if (!n.isValueNode()) throw bad(key, n, "a string");
            return n.asText();
        }

        List<JsonNode> list(String key, boolean required) {
            JsonNode n = root.get(key);
            List<JsonNode> out = new ArrayList<>();
            if (n == null || n.isNull()) {
                if (required) throw missing(key, "a non-empty list");
                return out;
            }
            if (n.isValueNode()) { out.add(n); return out; }   // a single value stands for a one-item list
            if (!n.isArray()) throw bad(key, n, "a list");
            n.forEach(out::add);
            if (required && out.isEmpty()) throw bad(key, n, "a non-empty list");
            return out;
        }

        List<String> stringList(String key, boolean required) {
            List<String> out = new ArrayList<>();
            for (JsonNode n : list(key, required)) {
                if (!n.isValueNode() || n.isNull() || n.asText().isBlank()) throw bad(key, n, "a list of names");
                out.add(n.asText().trim());
            }
            return out;
        }

        int positiveInt(String key, Integer dflt) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) {
                if (dflt == null) throw missing(key, "a positive integer");
                return dflt;
            }
            if (!n.isIntegralNumber() || n.asLong() < 1 || n.asLong() > Integer.MAX_VALUE)
                throw bad(key, n, "a positive integer");
            return n.asInt();
        }

        int nonNegativeInt(String key, int dflt) {
            JsonNode n = root.get(key);
            if (n == null || n.isNull()) return dflt;
            if (!n.isIntegralNumber() || n.asLong() < 0 || n.asLong() > Integer.MAX_VALUE)
                throw bad(key, n, "a non-negative integer");
            return n.asInt();
        }

        double number(String key, double dflt, double min, double max, String expected) {
            return number(key, root.get(key), dflt, min, max, expected);
        }

        double number(String key, JsonNode n, double dflt, double min, double max, String expected) {
            if (n == null || n.isNull()) return dflt;
            double v;
            if (n.isNumber()) v = n.asDouble();
            else if (n.isTextual()) {
                // YAML 1.1 reads "1e-4" (no dot) as a string; accept it as the number it means.
                try { v = Double.parseDouble(n.asText().trim()); }
                catch (NumberFormatException e) { throw bad(key, n, expected); }
            } else throw bad(key, n, expected);
            if (!(v >= min && v <= max) || Double.isNaN(v)) throw bad(key, n, expected);
            return v;
        }

        Map<String, Double> learningRates(List<Stabiliser> stabilisers) {
            JsonNode n = root.get("lr");
            if (n == null || n.isNull()) throw missing("lr", "a number, or a mapping by update rule (sgd, bm) or stabiliser (none, bn, bm, bn+bm)");
            Map<String, Double> out = new LinkedHashMap<>();
            String expected = "a positive learning rate";
            if (!n.isObject()) {
                out.put("*", number("lr", n, 0, Double.MIN_VALUE, Double.MAX_VALUE, expected));
                return out;
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                var e = it.next();
                String k = e.getKey();
                if (!k.equals("sgd") && Stabiliser.parse(k) == null)
                    throw new GridFileException(where + ": key 'lr': unknown entry '" + k
                            + "' (expected sgd, bm, none, bn or bn+bm)");
                out.put(k, number("lr." + k, e.getValue(), 0, Double.MIN_VALUE, Double.MAX_VALUE, expected));
            }
            for (Stabiliser s : stabilisers)
                if (!out.containsKey(s.key) && !out.containsKey(s.update.cliName()))
                    throw new GridFileException(where + ": key 'lr': no learning rate for stabiliser '" + s.key
                            + "' (give '" + s.key + "' or '" + s.update.cliName() + "')");
            return out;
        }
    }

    /** One line: the grid name and how its cells multiply out. */
    public String summary() {
        return String.format(Locale.ROOT, "%s: %d cells = %d datasets x %d models x %d feedback x %d stabilisers x %d seeds",
                name, cells().size(), datasets.size(), models.size(), feedback.size(), stabilisers.size(), seeds.size());
    }
}
