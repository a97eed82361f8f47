package asymbp.grid;

import java.util.List;
import java.util.Locale;

/**
 * One cell of a grid: everything needed to train one network once. Stored inside the cell's result
 * so that a rerun can tell whether a finished result still matches the grid file.
 */
public record CellSpec(String dataset, String model, String feedback, String stabiliser, long seed,
                       int epochs, int batch, double lr, double momentum, double weightDecay,
                       List<Integer> lrSteps, double lrFactor, int limit, String backend, int device) {

    public CellSpec {
        lrSteps = List.copyOf(lrSteps);
    }

    public Stabiliser stab() { return Stabiliser.parse(stabiliser); }

    /** A file-name-safe identifier, unique within a grid (dataset, model, feedback, stabiliser, seed). */
    public String id() {
        return safe(dataset) + "__" + safe(model) + "__" + safe(feedback) + "__" + safe(stabiliser) + "__s" + seed;
    }

    /** The group this cell averages into: everything but the seed. */
    public String groupKey() {
        return dataset + "|" + model + "|" + feedback + "|" + stabiliser;
    }

    /** A short human label for progress lines. */
    public String label() {
        return String.format(Locale.ROOT, "%s %s %s %s seed %d", dataset, model, feedback, stabiliser, seed);
    }

    static String safe(String s) {
        return s.replace("+", "-").replace(':', '-').replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
