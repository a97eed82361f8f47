package asymbp.grid;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The seeds of one (dataset, model, feedback, stabiliser) combination and their statistics. Mean and
 * sd are over the seeds that finished without diverging; sd is the sample standard deviation (n−1),
 * NaN for a single seed.
 */
public record Group(String dataset, String model, String feedback, String stabiliser, List<CellResult> runs) {

    public int n() { return runs.size(); }
    public int nOk() { return (int) runs.stream().filter(CellResult::ok).count(); }
    public int nDiverged() { return (int) runs.stream().filter(CellResult::diverged).count(); }
    public int nFailed() { return (int) runs.stream().filter(CellResult::failed).count(); }
    public int nUnfinished() { return (int) runs.stream().filter(CellResult::unfinished).count(); }
    /** Seeds with an outcome (finished or diverged): what a verdict on this group rests on. */
    public int nDecided() { return nOk() + nDiverged(); }
    /** Any seed diverged: the group is reported as diverged, never as a number. */
    public boolean diverged() { return nDiverged() > 0; }
    /** Usable as a number: no seed diverged and at least one finished. */
    public boolean usable() { return !diverged() && nOk() > 0; }

    public double mean() {
        return runs.stream().filter(CellResult::ok).mapToDouble(CellResult::testError).average().orElse(Double.NaN);
    }

    public double sd() {
        int k = nOk();
        if (k < 2) return Double.NaN;
        double m = mean(), ss = 0;
        for (CellResult r : runs) if (r.ok()) ss += (r.testError() - m) * (r.testError() - m);
        return Math.sqrt(ss / (k - 1));
    }

    /** Mean over finished seeds of each seed's best-epoch test error. */
    public double meanBest() {
        return runs.stream().filter(CellResult::ok).mapToDouble(Group::bestError).average().orElse(Double.NaN);
    }

    public double sdBest() {
        int k = nOk();
        if (k < 2) return Double.NaN;
        double m = meanBest(), ss = 0;
        for (CellResult r : runs) if (r.ok()) ss += (bestError(r) - m) * (bestError(r) - m);
        return Math.sqrt(ss / (k - 1));
    }

    /**
     * The lowest test error measured after any epoch of a finished run (BioTorch's "best epoch"); its final
     * error when it recorded no epochs. NaN unless the run finished: a diverged or unfinished run has none.
     */
    public static double bestError(CellResult r) {
        if (!r.ok()) return Double.NaN;
        CellResult.EpochRecord b = bestEpoch(r);
        return b == null ? r.testError() : b.testError();
    }

    /** The epoch with the lowest finite test error (the first of equals); null when none was recorded. */
    public static CellResult.EpochRecord bestEpoch(CellResult r) {
        CellResult.EpochRecord best = null;
        for (CellResult.EpochRecord e : r.epochs())
            if (Double.isFinite(e.testError()) && (best == null || e.testError() < best.testError())) best = e;
        return best;
    }

    /** Mean, over seeds, of the last-epoch training loss of finished seeds. */
    public double meanTrainLoss() {
        return runs.stream().filter(CellResult::ok).filter(r -> !r.epochs().isEmpty())
                .mapToDouble(r -> r.epochs().get(r.epochs().size() - 1).trainLoss()).average().orElse(Double.NaN);
    }

    /**
     * The table entry: "1.23 ± 0.05", "diverged (k/n seeds)", "failed (k/n seeds)", "unfinished (k/n seeds)";
     * seeds that failed or have not finished are counted after the number.
     */
    public String cellText() { return text(mean(), sd()); }

    /** The same for the best-epoch errors. */
    public String bestText() { return text(meanBest(), sdBest()); }

    private String text(double mean, double sd) {
        if (diverged()) return "diverged (" + nDiverged() + "/" + n() + " seeds)";
        if (nOk() == 0) return nUnfinished() > 0 ? "unfinished (" + nUnfinished() + "/" + n() + " seeds)"
                : "failed (" + nFailed() + "/" + n() + " seeds)";
        String s = nOk() >= 2 ? String.format(Locale.ROOT, "%.2f ± %.2f", mean, sd)
                : String.format(Locale.ROOT, "%.2f (1 seed)", mean);
        if (nFailed() > 0) s += " (" + nFailed() + " failed)";
        if (nUnfinished() > 0) s += " (" + nUnfinished() + " unfinished)";
        return s;
    }

    public static Map<String, Group> of(Collection<CellResult> results) {
        Map<String, List<CellResult>> by = new LinkedHashMap<>();
        for (CellResult r : results) by.computeIfAbsent(r.cell().groupKey(), k -> new ArrayList<>()).add(r);
        Map<String, Group> out = new LinkedHashMap<>();
        for (var e : by.entrySet()) {
            CellSpec c = e.getValue().get(0).cell();
            List<CellResult> runs = new ArrayList<>(e.getValue());
            runs.sort((a, b) -> Long.compare(a.cell().seed(), b.cell().seed()));
            out.put(e.getKey(), new Group(c.dataset(), c.modelLabel(), c.feedback(), c.stabiliser(), runs));
        }
        return out;
    }

    public static String key(String dataset, String model, String feedback, String stabiliser) {
        return dataset + "|" + model + "|" + feedback + "|" + stabiliser;
    }
}
