package asymbp.grid;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 13: each check of a grid file at its limit (the last value accepted, the first refused) with the
 * exact message, and the defaults a file may leave out.
 */
class GridSpecMutationTest {

    private static final String MIN = "datasets: [mnist]\nmodels: [lenet]\nfeedback: [bp]\nstabilisers: [bn]\nseeds: [1]\nepochs: 2\nlr: 0.01\n";

    /** MIN with {@code key}'s line replaced by (or, when absent, extended with) {@code line}. */
    private static String with(String key, String line) {
        StringBuilder b = new StringBuilder();
        boolean done = false;
        for (String l : MIN.split("\n")) {
            if (l.startsWith(key + ":")) { b.append(line).append('\n'); done = true; }
            else b.append(l).append('\n');
        }
        if (!done) b.append(line).append('\n');
        return b.toString();
    }

    private static GridSpec ok(String yaml) { return GridSpec.parse(yaml, "g.yaml"); }

    private static String refused(String yaml) {
        GridFileException e = assertThrows(GridFileException.class, () -> GridSpec.parse(yaml, "g.yaml"));
        return e.getMessage();
    }

    private static void refused(String key, String line, String expected, String got) {
        assertEquals("g.yaml: key '" + key + "': expected " + expected + ", got " + got, refused(with(key, line)));
    }

    /** A value of the right type that train's own checks (TrainConfig.validate) refuse, named by key and cell. */
    private static void cellRefused(String key, String line, String value, String why) {
        assertEquals("g.yaml: key '" + key + "': '" + value + "': " + why + " (cell mnist__lenet__bp__bn__s1)",
                refused(with(key, line)));
    }

    @Test
    void nameAndDescriptionDefaults() {
        assertEquals("g", ok(MIN).name());
        assertEquals("", ok(MIN).description());
        assertEquals("my.grid", GridSpec.parse(MIN, "grids/my.grid.yaml").name());
        assertEquals("noext", GridSpec.parse(MIN, "grids/noext").name());
        assertEquals(".hidden", GridSpec.parse(MIN, "grids/.hidden").name(), "a leading dot is not an extension");
        assertEquals("given", ok(with("name", "name: given")).name());
        assertEquals("about it", ok(with("description", "description: about it")).description());
        refused("name", "name: [a]", "a string", "a list");
        refused("description", "description: {a: 1}", "a string", "a mapping");
    }

    @Test
    void cellsThatWouldShareAnIdAreRefused() {
        // ids print 6 significant digits: two rates that differ in the 8th share one result file
        String lr = refused(with("lr", "lr: [1.0e-4, 1.00000001e-4]"));
        assertTrue(lr.startsWith("g.yaml: two cells would share the id ") && lr.contains("lr 1.0E-4 vs 1.00000001E-4")
                && lr.endsWith("make the values that differ distinct within 6 significant digits"), lr);
        assertEquals(2, ok(with("lr", "lr: [1.0e-4, 1.00001e-4]")).cells().size(), "6 significant digits tell these apart");
    }

    @Test
    void fileLevelErrors(@TempDir Path dir) {
        assertEquals("g.yaml: empty grid file", refused(""));
        assertEquals("g.yaml: empty grid file", refused("null\n"));
        assertEquals("g.yaml: expected a mapping of keys (datasets, models, ...), got '5'", refused("5\n"));
        assertEquals("g.yaml: expected a mapping of keys (datasets, models, ...), got a list", refused("- a\n"));
        // the parser's own message is several lines (a caret diagram follows): only its first is kept
        String yaml = refused("datasets: [mnist\nmodels: lenet\n");
        assertTrue(yaml.startsWith("g.yaml: not valid YAML at line 2, column 7: ") && yaml.length() > 44, yaml);
        assertFalse(yaml.contains("\n"), yaml);
        assertTrue(refused(MIN + "epoch: 3\n").startsWith("g.yaml: unknown key 'epoch' (known keys: name, description, datasets, models, "),
                refused(MIN + "epoch: 3\n"));
        assertEquals("g.yaml: missing key 'datasets' (a non-empty list)", refused(with("datasets", "")));
        assertEquals("g.yaml: missing key 'epochs' (a positive integer, or a list of them)", refused(with("epochs", "")));
        assertEquals("g.yaml: missing key 'lr' (a number, or a mapping by update rule (sgd, bm) or stabiliser (none, bn, bm, bn+bm))",
                refused(with("lr", "")));
        GridFileException e = assertThrows(GridFileException.class, () -> GridSpec.load(dir));
        assertTrue(e.getMessage().startsWith(dir + ": cannot read ("), e.getMessage());
        String cell = refused(with("datasets", "datasets: [imagenet]"));
        assertTrue(cell.startsWith("g.yaml: key 'datasets': 'imagenet': is not a dataset (expected one of mnist, "), cell);
        assertTrue(cell.endsWith(" (cell imagenet__lenet__bp__bn__s1)"), cell);
    }

    @Test
    void namesListsAndDuplicates() {
        assertEquals(List.of("mnist"), ok(with("datasets", "datasets: mnist")).datasets(), "one value is a one-item list");
        assertEquals(List.of("mnist", "fashion-mnist"), ok(with("datasets", "datasets: [' mnist ', fashion-mnist]")).datasets());
        refused("datasets", "datasets: {a: 1}", "a list", "a mapping");
        refused("datasets", "datasets: []", "a non-empty list", "a list");
        refused("datasets", "datasets: ['']", "a list of names", "''");
        refused("datasets", "datasets: [[mnist]]", "a list of names", "a list");
        for (String[] kv : new String[][] {{"datasets", "mnist"}, {"models", "lenet"}, {"feedback", "bp"}, {"stabilisers", "bn"}})
            assertEquals("g.yaml: key '" + kv[0] + "': value '" + kv[1] + "' is listed twice",
                    refused(with(kv[0], kv[0] + ": [" + kv[1] + ", " + kv[1] + "]")));
        refused("models", "models: ['mlp:0']", "a model: mlp:W1-W2-..., lenet, lenet-biotorch or cifar", "'mlp:0'");
        // train would take these, but ids and reports show a model as written: one spelling per model
        refused("models", "models: [LeNet]", "a model: mlp:W1-W2-..., lenet, lenet-biotorch or cifar", "'LeNet'");
        assertEquals(List.of("lenet"), ok(with("models", "models: [' lenet ']")).models(), "list items are trimmed");
        assertEquals(List.of("lenet-biotorch"), ok(with("models", "models: [lenet-biotorch]")).models());
        assertEquals(List.of("mlp:10-20"), ok(with("models", "models: ['mlp:10-20']")).models());
    }

    @Test
    void feedbackPsfProbabilityUpToOne() {
        assertEquals(List.of("psf:1", "psf:0"), ok(with("feedback", "feedback: ['psf:1', 'psf:0']")).feedback());
        assertEquals(List.of("psf:1.0"), ok(with("feedback", "feedback: ['psf:1.0']")).feedback());
        refused("feedback", "feedback: ['psf:1.01']", "psf:p with 0 <= p <= 1", "'psf:1.01'");
        refused("feedback", "feedback: [rndf]", "a feedback mode: bp, usf, brsf, frsf, fa, dfa or psf:p with 0 <= p <= 1", "'rndf'");
        assertEquals(List.of("dfa"), ok(with("feedback", "feedback: [dfa]")).feedback());
    }

    @Test
    void seedsFromZero() {
        assertEquals(List.of(0L, 7L), ok(with("seeds", "seeds: [0, 7]")).seeds());
        refused("seeds", "seeds: [-1]", "a non-negative integer", "'-1'");
        refused("seeds", "seeds: [1.5]", "a non-negative integer", "'1.5'");
        assertEquals("g.yaml: key 'seeds': value '3' is listed twice", refused(with("seeds", "seeds: [3, 3]")));
    }

    @Test
    void integersAtTheirLimits() {
        assertEquals(List.of(1), ok(with("batch", "batch: 1")).options().get("batch"));
        assertEquals(List.of(Integer.MAX_VALUE), ok(with("batch", "batch: 2147483647")).options().get("batch"));
        cellRefused("batch", "batch: 0", "0", "must be at least 1");
        refused("batch", "batch: 2147483648", "a positive integer", "'2147483648'");
        refused("batch", "batch: 2.0", "a positive integer", "'2.0'");
        assertEquals(List.of(0), ok(with("limit", "limit: 0")).options().get("limit"));
        cellRefused("limit", "limit: -1", "-1", "must be ≥ 0 (0 = all)");
        refused("batch", "batch: []", "a value or a non-empty list of values", "a list");
        assertEquals("g.yaml: key 'batch': value '8' is listed twice", refused(with("batch", "batch: [8, 8]")));
        assertEquals(List.of(8, 16), ok(with("batch", "batch: [8, 16]")).options().get("batch"));
    }

    @Test
    void realsAtTheirLimits() {
        assertEquals(List.of(0.0), ok(MIN).options().get("momentum"), "grids default to momentum 0");
        assertEquals(List.of(0.0), ok(with("momentum", "momentum: 0")).options().get("momentum"));
        assertEquals(List.of(0.99), ok(with("momentum", "momentum: 0.99")).options().get("momentum"));
        cellRefused("momentum", "momentum: 1", "1", "must be in [0,1)");
        cellRefused("momentum", "momentum: 1.0", "1", "must be in [0,1)");
        cellRefused("momentum", "momentum: -0.1", "-0.1", "must be in [0,1)");
        assertEquals(List.of(1e-4), ok(with("weight_decay", "weight_decay: '1e-4'")).options().get("weight_decay"), "YAML 1.1 string");
        assertEquals(List.of(0.0), ok(with("weight_decay", "weight_decay: 0")).options().get("weight_decay"));
        cellRefused("weight_decay", "weight_decay: -0.001", "-0.001", "must be ≥ 0");
        refused("weight_decay", "weight_decay: abc", "a non-negative number", "'abc'");
        refused("weight_decay", "weight_decay: true", "a non-negative number", "'true'");
        refused("weight_decay", "weight_decay: 'Infinity'", "a non-negative number", "'Infinity'");
        refused("weight_decay", "weight_decay: 'NaN'", "a non-negative number", "'NaN'");
        assertEquals(List.of(Double.MAX_VALUE), ok(with("weight_decay", "weight_decay: 1.7976931348623157e308")).options().get("weight_decay"));
        cellRefused("lr_factor", "lr_factor: 0", "0", "must be a positive number");
        assertEquals(List.of(Double.MIN_VALUE), ok(with("lr_factor", "lr_factor: 4.9e-324")).options().get("lr_factor"));
        // the grid file's own range ends: −MAX passes it (train's check then refuses it), MIN_VALUE is a positive rate
        cellRefused("weight_decay", "weight_decay: -1.7976931348623157e308", "-1.79769e+308", "must be ≥ 0");
        assertEquals(List.of(Double.MIN_VALUE), ok(with("lr", "lr: 4.9e-324")).lrsFor(Stabiliser.parse("bn")));
    }

    @Test
    void aReferenceBlockIsReadAndANullOneIsNone() {
        String block = "reference:\n  source: s\n  commit: c\n  metric: best\n  values: {mnist: {bp: 0.9}}\n  tolerance: {mnist: 0.1}\n";
        Reference ref = ok(MIN + block).reference();
        assertEquals(Map.of("mnist", Map.of("bp", 0.9)), ref.values());
        assertNull(ok(MIN).reference());
        assertNull(ok(MIN + "reference: null\n").reference());
        assertNull(ok(MIN + "reference: ~\n").reference());
    }

    @Test
    void learningRateStepsAndSchedules() {
        assertEquals(List.of(List.of(1)), ok(with("lr_steps", "lr_steps: [1]")).options().get("lr_steps"), "before the last epoch");
        assertEquals(List.of(List.of()), ok(with("lr_steps", "lr_steps: []")).options().get("lr_steps"));
        assertEquals(List.of(List.of(1), List.of(2)), ok(with("lr_steps", "lr_steps: [[1], [2]]").replace("epochs: 2", "epochs: 3"))
                .options().get("lr_steps"));
        String never = "the run has 2 epoch(s) (--epochs), so this step would never apply";
        cellRefused("lr_steps", "lr_steps: [1, 2]", "2", never);
        cellRefused("lr_steps", "lr_steps: [3]", "3", never);
        cellRefused("lr_steps", "lr_steps: [0]", "0", "epochs must be ≥ 1");
        cellRefused("lr_steps", "lr_steps: [2147483647]", "2147483647", never);
        refused("lr_steps", "lr_steps: [2147483648]", "an epoch number between 1 and epochs", "'2147483648'");
        cellRefused("lr_steps", "lr_steps: [2, 2]", "2,2", "must be increasing");
        refused("lr_steps", "lr_steps: [[1], 2]", "a list of epoch numbers", "'2'");
    }

    @Test
    void choicesAndFlags() {
        cellRefused("weight_init", "weight_init: he", "he", "must be uniform or xavier");
        refused("weight_init", "weight_init: [[xavier]]", "a name", "a list");
        cellRefused("fb_magnitude", "fb_magnitude: normal", "normal", "must be uniform or halfnormal");
        cellRefused("backend", "backend: tpu", "tpu", "must be auto, cpu, opencl or cuda");
        refused("last_layer_bp", "last_layer_bp: 1", "true or false", "'1'");
        assertEquals(List.of(true), ok(with("last_layer_bp", "last_layer_bp: true")).options().get("last_layer_bp"));
        refused("init", "init: ''", "a folder of .npy weights", "''");
        refused("init", "init: 5", "a folder of .npy weights", "'5'");
        assertEquals(List.of("/w"), ok(with("init", "init: ' /w '")).options().get("init"));
    }

    @Test
    void learningRatesByRuleStabiliserOrOne() {
        GridSpec byRule = ok(with("lr", "lr: {sgd: 0.1}"));
        assertEquals(List.of(0.1), byRule.lrsFor(Stabiliser.BN));
        assertEquals(List.of(0.1, 0.2), ok(with("lr", "lr: [0.1, 0.2]")).lrsFor(Stabiliser.BM));
        assertEquals("g.yaml: key 'lr': unknown entry 'x' (expected sgd, bm, none, bn or bn+bm)", refused(with("lr", "lr: {x: 1}")));
        assertEquals("g.yaml: key 'lr': no learning rate for stabiliser 'bn' (give 'bn' or 'sgd')", refused(with("lr", "lr: {bm: 1}")));
        refused("lr", "lr: []", "a learning rate or a non-empty list of them", "a list");
        refused("lr", "lr: 0", "a positive learning rate", "'0'");
        refused("lr", "lr: [0.1, 0]", "a positive learning rate (or a list of them)", "'0'");
        assertEquals("g.yaml: key 'lr': value '0.1' is listed twice", refused(with("lr", "lr: [0.1, 0.1]")));
        GridSpec none = new GridSpec("n", "", List.of("mnist"), List.of("lenet"), List.of("bp"), List.of(Stabiliser.BN),
                List.of(1L), Map.of(), ok(MIN).options(), null);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> none.lrsFor(Stabiliser.BN));
        assertEquals("no learning rate for bn", e.getMessage());
    }

    @Test
    void summaryNamesWhatIsSwept() {
        assertEquals("g: 1 cells = 1 datasets x 1 models x 1 feedback x 1 stabilisers x 1 seeds", ok(MIN).summary());
        assertEquals("g: 2 cells = 1 datasets x 1 models x 1 feedback x 1 stabilisers x 1 seeds x swept lr",
                ok(with("lr", "lr: [0.1, 0.2]")).summary());
        assertEquals("g: 4 cells = 1 datasets x 1 models x 1 feedback x 1 stabilisers x 1 seeds x swept lr, batch",
                ok(with("lr", "lr: [0.1, 0.2]") .replace("epochs: 2\n", "epochs: 2\nbatch: [8, 16]\n")).summary());
        List<CellSpec> cells = ok(with("lr", "lr: [0.1, 0.2]")).cells();
        assertEquals("lr=0.1", cells.get(0).sweep());
        assertEquals("", ok(MIN).cells().get(0).sweep());
    }
}
