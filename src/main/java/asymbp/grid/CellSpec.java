package asymbp.grid;

import asymbp.model.FbScale;

import java.util.List;
import java.util.Locale;

/**
 * One cell of a grid: everything needed to train one network once. Stored inside the cell's result
 * so that a rerun can tell whether a finished result still matches the grid file.
 *
 * <p>The options after {@code device} were added later: absent from an older result file they read as
 * null and stand for the train defaults, so older results still match an unchanged grid.
 *
 * @param sweep the values of the options the grid sweeps beyond dataset, model, feedback, stabiliser and
 *              seed ("lr=0.01,fb_scale=0.5"); empty when it sweeps none. Part of the id and the group.
 */
public record CellSpec(String dataset, String model, String feedback, String stabiliser, long seed,
                       int epochs, int batch, double lr, double momentum, double weightDecay,
                       List<Integer> lrSteps, double lrFactor, int limit, String backend, int device,
                       String weightInit, FbScale fbScale, String fbMagnitude, Double faSigma, Boolean lastLayerBp,
                       Double divergeBound, Integer evalBatch, String init, String sweep) {

    public CellSpec {
        lrSteps = List.copyOf(lrSteps);
        if (weightInit == null) weightInit = "uniform";
        if (fbScale == null) fbScale = FbScale.ONE;
        if (fbMagnitude == null) fbMagnitude = "uniform";
        if (faSigma == null) faSigma = 0.0;
        if (lastLayerBp == null) lastLayerBp = false;
        if (divergeBound == null) divergeBound = 0.0;
        if (evalBatch == null) evalBatch = 0;
        if (sweep == null) sweep = "";
    }

    /** A cell with every later option at its train default. */
    public CellSpec(String dataset, String model, String feedback, String stabiliser, long seed,
                    int epochs, int batch, double lr, double momentum, double weightDecay,
                    List<Integer> lrSteps, double lrFactor, int limit, String backend, int device) {
        this(dataset, model, feedback, stabiliser, seed, epochs, batch, lr, momentum, weightDecay, lrSteps, lrFactor,
                limit, backend, device, null, null, null, null, null, null, null, null, null);
    }

    public Stabiliser stab() { return Stabiliser.parse(stabiliser); }

    /** A file-name-safe identifier, unique within a grid (dataset, model, feedback, stabiliser, seed, sweep). */
    public String id() {
        return safe(dataset) + "__" + safe(model) + "__" + safe(feedback) + "__" + safe(stabiliser) + "__s" + seed
                + (sweep.isEmpty() ? "" : "__" + safe(sweep));
    }

    /** The model and, when the grid sweeps options, their values: what report tables and figures split by. */
    public String modelLabel() {
        return sweep.isEmpty() ? model : model + " " + sweep;
    }

    /** The group this cell averages into: everything but the seed. */
    public String groupKey() {
        return dataset + "|" + modelLabel() + "|" + feedback + "|" + stabiliser;
    }

    /** A short human label for progress lines. */
    public String label() {
        return String.format(Locale.ROOT, "%s %s %s %s seed %d", dataset, modelLabel(), feedback, stabiliser, seed);
    }

    static String safe(String s) {
        return s.replace("+", "-").replace(':', '-').replaceAll("[^A-Za-z0-9._-]", "_");
    }
}
