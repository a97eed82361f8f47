package asymbp.grid;

import asymbp.io.Json;
import asymbp.model.FbScale;
import asymbp.model.Net;
import asymbp.train.TrainConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * A grid file: the cross product of datasets × models × feedback modes × stabilisers × seeds × every
 * swept train option. YAML, for example:
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
 * lr: {sgd: 0.01, bm: [1.0e-4, 3.0e-4], bn: 0.05}   # by update rule (sgd, bm) or by stabiliser; or one number or a list
 * momentum: 0.9
 * weight_decay: 0
 * lr_steps: []                            # epochs after which lr is multiplied by lr_factor ([[50, 75], [30]] sweeps schedules)
 * lr_factor: 0.1
 * limit: 10000                            # first N training examples; 0 = all
 * backend: cpu
 * fb_scale: [0.5, 1, 2]                   # a list sweeps: the grid is the product of all lists (xavier: per layer)
 * </pre>
 *
 * Every train option can be given, for the whole grid (one value) or swept (a list): those of
 * {@link #OPTION_KEYS}. A learning rate for a cell is looked up by its stabiliser's key first (none, bn,
 * bm, bn+bm), then by its update rule (sgd, bm). Unknown keys and bad values are refused when the file is
 * read, before any cell runs: every cell's settings are checked as {@code train} checks its flags.
 *
 * @param options every option of {@link #OPTION_KEYS}: its values (one, or several when swept)
 * @param reference published numbers to compare with (the optional {@code reference:} block); null when absent
 */
public record GridSpec(String name, String description, List<String> datasets, List<String> models,
                       List<String> feedback, List<Stabiliser> stabilisers, List<Long> seeds,
                       Map<String, List<Double>> lr, Map<String, List<Object>> options, Reference reference) {

    /**
     * Train options besides datasets, models, feedback, stabilisers, seeds and lr, in label order: those
     * of train's own option table ({@link TrainConfig.Option#gridOptions()}), under the same keys.
     */
    public static final List<String> OPTION_KEYS = TrainConfig.Option.gridOptions().stream().map(o -> o.key).toList();
    private static final List<String> KEY_ORDER;
    static final Set<String> KEYS;
    static {
        List<String> k = new ArrayList<>(List.of("name", "description", "datasets", "models", "feedback",
                "stabilisers", "seeds", "lr"));
        k.addAll(OPTION_KEYS);
        k.add("reference");
        KEY_ORDER = List.copyOf(k);
        KEYS = Set.copyOf(k);
    }

    private static final Pattern FEEDBACK = Pattern.compile("bp|usf|brsf|frsf|fa|dfa|psf:([0-9]*\\.?[0-9]+)");

    /** Every cell, in run order: seed outermost, so an interrupted grid has whole seeds done first. */
    public List<CellSpec> cells() {
        List<Map<String, Object>> combos = combinations();
        boolean lrSwept = lr.values().stream().anyMatch(v -> v.size() > 1);
        List<CellSpec> out = new ArrayList<>();
        for (long seed : seeds)
            for (String d : datasets)
                for (String m : models)
                    for (Stabiliser s : stabilisers)
                        for (String f : feedback)
                            for (double rate : lrsFor(s))
                                for (Map<String, Object> o : combos)
                                    out.add(cell(d, m, f, s, seed, rate, o, sweepLabel(lrSwept, rate, o)));
        return out;
    }

    @SuppressWarnings("unchecked")
    private static CellSpec cell(String d, String m, String f, Stabiliser s, long seed, double rate,
                                 Map<String, Object> o, String sweep) {
        return new CellSpec(d, m, f, s.key, seed, (Integer) o.get("epochs"), (Integer) o.get("batch"), rate,
                (Double) o.get("momentum"), (Double) o.get("weight_decay"), (List<Integer>) o.get("lr_steps"),
                (Double) o.get("lr_factor"), (Integer) o.get("limit"), (String) o.get("backend"),
                (Integer) o.get("device"), (String) o.get("weight_init"), FbScale.parse(o.get("fb_scale")),
                (String) o.get("fb_magnitude"), (Double) o.get("fa_sigma"), (Boolean) o.get("last_layer_bp"),
                (Double) o.get("diverge_bound"), (Integer) o.get("eval_batch"), (String) o.get("init"), sweep);
    }

    /** The product of every option's values, first option outermost. */
    private List<Map<String, Object>> combinations() {
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>());
        for (String k : OPTION_KEYS) {
            List<Map<String, Object>> next = new ArrayList<>();
            for (Map<String, Object> partial : out)
                for (Object v : options.get(k)) {
                    Map<String, Object> m = new LinkedHashMap<>(partial);
                    m.put(k, v);
                    next.add(m);
                }
            out = next;
        }
        return out;
    }

    private String sweepLabel(boolean lrSwept, double rate, Map<String, Object> o) {
        List<String> parts = new ArrayList<>();
        if (lrSwept) parts.add("lr=" + text(rate));
        for (String k : OPTION_KEYS)
            if (options.get(k).size() > 1) parts.add(k + "=" + text(o.get(k)));
        return String.join(",", parts);
    }

    private static String text(Object v) {
        if (v instanceof Double) return GridReport.fmtNum((Double) v);
        if (v instanceof FbScale f) return f.xavier() ? "xavier" : GridReport.fmtNum(f.value());
        if (v instanceof List) return ((List<?>) v).stream().map(String::valueOf).collect(Collectors.joining("-"));
        return String.valueOf(v);
    }

    /** The learning rates of cells with stabiliser {@code s}: by stabiliser key, else by update rule. */
    public List<Double> lrsFor(Stabiliser s) {
        List<Double> v = lr.get(s.key);
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
    @SuppressWarnings("unchecked")
    public static GridSpec parse(String yaml, String where) {
        JsonNode root;
        try {
            root = Json.YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            JsonLocation loc = e.getLocation();
            String at = loc == null ? "" : " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
            throw new GridFileException(where + ": not valid YAML" + at + ": " + asymbp.io.Text.firstLine(e.getOriginalMessage()));
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
            if (!isModel(m)) throw r.bad("models", m, "a model: " + Net.NAMES);
        List<String> feedback = r.stringList("feedback", true);
        for (String f : feedback) {
            var mt = FEEDBACK.matcher(f);
            if (!mt.matches())
                throw r.bad("feedback", f, "a feedback mode: bp, usf, brsf, frsf, fa, dfa or psf:p with 0 <= p <= 1");
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

        Map<String, List<Double>> lr = r.learningRates(stabilisers);
        Map<String, List<Object>> options = new LinkedHashMap<>();
        for (String k : OPTION_KEYS) options.put(k, r.option(k));
        JsonNode ref = root.get("reference");
        Reference reference = ref == null || ref.isNull() ? null : Reference.parse(ref, where, datasets, feedback);
        GridSpec g = new GridSpec(name, description, datasets, models, feedback, stabilisers, seeds, lr, options,
                reference);
        // Every cell through train's own checks (TrainConfig.validate: values and how they fit together,
        // lr_steps against epochs included), so that no bad value surfaces after cells have run. A cell's id
        // names its result file and work folder: two cells with one id (values that differ beyond the 6
        // significant digits ids print) would share them.
        Map<String, CellSpec> byId = new HashMap<>();
        for (CellSpec c : g.cells()) {
            CellSpec other = byId.putIfAbsent(c.id(), c);
            if (other != null)
                throw new GridFileException(where + ": two cells would share the id " + c.id() + " (" + differences(other, c)
                        + "): make the values that differ distinct within 6 significant digits");
            try {
                TrainerCellRunner.config(c);
            } catch (TrainConfig.BadValue e) {
                throw new GridFileException(where + ": key '" + gridKey(e.option) + "': '" + text(e.value) + "': " + e.why
                        + " (cell " + c.id() + ")");
            } catch (IllegalArgumentException e) {
                throw new GridFileException(where + ": cell " + c.id() + ": " + e.getMessage());
            }
        }
        return g;
    }

    /** A model name as train takes it (Net.checkName), in the one spelling ids and reports show: lower case. */
    private static boolean isModel(String m) {
        try {
            Net.checkName(m);
        } catch (IllegalArgumentException e) {
            return false;
        }
        return m.equals(m.toLowerCase(Locale.ROOT));
    }

    /** What differs between two cells, as "field a vs b" (the record's components, in order). */
    static String differences(CellSpec a, CellSpec b) {
        List<String> out = new ArrayList<>();
        try {
            for (java.lang.reflect.RecordComponent rc : CellSpec.class.getRecordComponents()) {
                Object x = rc.getAccessor().invoke(a), y = rc.getAccessor().invoke(b);
                if (!java.util.Objects.equals(x, y)) out.add(rc.getName() + " " + x + " vs " + y);
            }
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException(e);
        }
        return String.join(", ", out);
    }

    /** The grid file's key for a train option (lists for the cross product, the stabiliser for bn and update). */
    private static String gridKey(TrainConfig.Option o) {
        switch (o) {
            case DATASET: return "datasets";
            case MODEL: return "models";
            case SEED: return "seeds";
            case BN: case UPDATE: return "stabilisers";
            default: return o.key;
        }
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

        /**
         * The values of train option {@code key}: its default when absent, one value, or the values of a
         * list (a sweep). lr_steps is itself a list: a list of lists sweeps schedules.
         */
        List<Object> option(String key) {
            JsonNode n = root.get(key);
            List<Object> out = new ArrayList<>();
            if (n == null || n.isNull()) {
                if (key.equals("epochs")) throw missing(key, "a positive integer, or a list of them");
                out.add(DEFAULTS.get(key));
                return out;
            }
            boolean sweep = n.isArray() && (!key.equals("lr_steps") || (n.size() > 0 && n.get(0).isArray()));
            if (!sweep) {
                out.add(value(key, n));
                return out;
            }
            if (n.isEmpty()) throw bad(key, n, "a value or a non-empty list of values");
            for (JsonNode e : n) out.add(value(key, e));
            noDuplicates(this, key, out);
            return out;
        }

        /**
         * One value of option {@code key}, of the type the option takes; whether the value is allowed is
         * TrainConfig.validate's to say, for every cell (see parse).
         */
        private Object value(String key, JsonNode n) {
            switch (key) {
                case "epochs": case "batch": return integer(key, n, "a positive integer");
                case "limit": case "device": case "eval_batch": return integer(key, n, "a non-negative integer");
                case "momentum": return number(key, n, 0, -Double.MAX_VALUE, Double.MAX_VALUE, "a number in [0, 1)");
                case "weight_decay": case "fa_sigma": case "diverge_bound":
                    return number(key, n, 0, -Double.MAX_VALUE, Double.MAX_VALUE, "a non-negative number");
                case "lr_factor":
                    return number(key, n, 0, -Double.MAX_VALUE, Double.MAX_VALUE, "a positive number");
                case "fb_scale":
                    if (n.isTextual() && n.asText().trim().equalsIgnoreCase("xavier")) return FbScale.XAVIER;
                    return FbScale.of(number(key, n, 0, Double.MIN_VALUE, Double.MAX_VALUE, "a positive number or xavier"));
                case "lr_steps": {
                    if (!n.isArray()) throw bad(key, n, "a list of epoch numbers");
                    List<Integer> steps = new ArrayList<>();
                    for (JsonNode e : n) steps.add(integer(key, e, "an epoch number between 1 and epochs"));
                    return List.copyOf(steps);
                }
                case "backend": case "weight_init": case "fb_magnitude":
                    if (!n.isValueNode() || n.isNull()) throw bad(key, n, "a name");
                    return n.asText();
                case "last_layer_bp":
                    if (!n.isBoolean()) throw bad(key, n, "true or false");
                    return n.asBoolean();
                case "init":
                    if (!n.isTextual() || n.asText().isBlank()) throw bad(key, n, "a folder of .npy weights");
                    return n.asText().trim();
                default: throw new IllegalStateException("no parser for option " + key);
            }
        }

        private int integer(String key, JsonNode n, String expected) {
            if (!n.isIntegralNumber() || !n.canConvertToInt()) throw bad(key, n, expected);
            return n.asInt();
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

        /** lr: a number or list, or a mapping by stabiliser or update rule whose entries are numbers or lists. */
        Map<String, List<Double>> learningRates(List<Stabiliser> stabilisers) {
            JsonNode n = root.get("lr");
            if (n == null || n.isNull()) throw missing("lr", "a number, or a mapping by update rule (sgd, bm) or stabiliser (none, bn, bm, bn+bm)");
            Map<String, List<Double>> out = new LinkedHashMap<>();
            if (!n.isObject()) {
                out.put("*", rates("lr", n));
                return out;
            }
            for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
                var e = it.next();
                String k = e.getKey();
                if (!k.equals("sgd") && Stabiliser.parse(k) == null)
                    throw new GridFileException(where + ": key 'lr': unknown entry '" + k
                            + "' (expected sgd, bm, none, bn or bn+bm)");
                out.put(k, rates("lr." + k, e.getValue()));
            }
            for (Stabiliser s : stabilisers)
                if (!out.containsKey(s.key) && !out.containsKey(s.update.cliName()))
                    throw new GridFileException(where + ": key 'lr': no learning rate for stabiliser '" + s.key
                            + "' (give '" + s.key + "' or '" + s.update.cliName() + "')");
            return out;
        }

        private List<Double> rates(String key, JsonNode n) {
            String expected = "a positive learning rate";
            List<Double> out = new ArrayList<>();
            if (!n.isArray()) {
                out.add(number(key, n, 0, Double.MIN_VALUE, Double.MAX_VALUE, expected));
                return out;
            }
            if (n.isEmpty()) throw bad(key, n, "a learning rate or a non-empty list of them");
            for (JsonNode e : n) out.add(number(key, e, 0, Double.MIN_VALUE, Double.MAX_VALUE, expected + " (or a list of them)"));
            noDuplicates(this, key, out);
            return out;
        }
    }

    /**
     * An option a grid file leaves out: train's default, except momentum, 0 in grids (plain SGD and BM
     * as the paper runs them) where train's default is 0.9.
     */
    static final Map<String, Object> DEFAULTS;
    static {
        TrainConfig t = TrainConfig.defaults();
        Map<String, Object> d = new LinkedHashMap<>();
        for (TrainConfig.Option o : TrainConfig.Option.gridOptions())
            if (o != TrainConfig.Option.EPOCHS) d.put(o.key, o.of(t));
        d.put("momentum", 0.0);
        DEFAULTS = java.util.Collections.unmodifiableMap(d);
    }

    /** One line: the grid name and how its cells multiply out. */
    public String summary() {
        List<String> swept = new ArrayList<>();
        if (lr.values().stream().anyMatch(v -> v.size() > 1)) swept.add("lr");
        for (String k : OPTION_KEYS) if (options.get(k).size() > 1) swept.add(k);
        return String.format(Locale.ROOT, "%s: %d cells = %d datasets x %d models x %d feedback x %d stabilisers x %d seeds%s",
                name, cells().size(), datasets.size(), models.size(), feedback.size(), stabilisers.size(), seeds.size(),
                swept.isEmpty() ? "" : " x swept " + String.join(", ", swept));
    }
}
