package asymbp.grid;

import asymbp.io.Text;
import org.knowm.xchart.XYChart;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Turns a run directory's cells/ into results.csv (one row per cell: final and best-epoch test error),
 * cells.csv (every setting of every cell), results.md (tables, the comparison with the grid file's
 * reference numbers, figures, findings), findings.md, and PNG figures: learning curves per dataset and
 * model, test error per epoch for long runs, alignment angles per dataset, model and stabiliser.
 *
 * <p>With the grid file the run copied into the folder (grid.yaml), cells of the grid without a finished
 * result are reported as unfinished, with the epochs their work folder holds (when the folder has work/),
 * and never as numbers.
 */
public final class GridReport {

    /** Files written, for the caller to list. */
    public record Written(List<Path> files, int cells) {}

    private final Consumer<String> log;

    public GridReport(Consumer<String> log) { this.log = log; }

    public Written write(Path runDir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<CellResult> results = new ResultStore(runDir).readAll(log);
        GridSpec grid = grid(runDir);
        if (grid != null) results = withUnfinished(runDir, results, grid);
        if (results.isEmpty())
            throw new GridFileException(runDir + ": no cell results under " + runDir.resolve("cells"));
        results.sort(ORDER);
        List<Path> files = new ArrayList<>();
        Path csv = runDir.resolve("results.csv");
        Files.writeString(csv, resultsCsv(results));
        files.add(csv);
        Path cellsCsv = runDir.resolve("cells.csv");
        Files.writeString(cellsCsv, csv(results));
        files.add(cellsCsv);
        Map<String, Group> groups = Group.of(results);
        Findings findings = new Findings(groups);
        Path fmd = runDir.resolve("findings.md");
        Files.writeString(fmd, findings.markdown());
        files.add(fmd);
        List<String> figures = new ArrayList<>();
        for (String dm : datasetModels(results)) {
            String[] p = dm.split("\\|", 2);
            Path curve = runDir.resolve("curves-" + CellSpec.safe(p[0]) + "-" + CellSpec.safe(p[1]) + ".png");
            learningCurves(groups, p[0], p[1], curve);
            files.add(curve);
            figures.add(curve.getFileName().toString());
            Path te = runDir.resolve("test-error-" + CellSpec.safe(p[0]) + "-" + CellSpec.safe(p[1]) + ".png");
            if (testErrorCurves(groups, p[0], p[1], te)) {
                files.add(te);
                figures.add(te.getFileName().toString());
            }
            for (String s : stabilisers(results)) {
                if (groups.values().stream().noneMatch(g -> g.dataset().equals(p[0]) && g.model().equals(p[1])
                        && g.stabiliser().equals(s))) continue;
                Path al = runDir.resolve("alignment-" + CellSpec.safe(p[0]) + "-" + CellSpec.safe(p[1]) + "-"
                        + CellSpec.safe(s) + ".png");
                if (alignmentPlot(groups, p[0], p[1], s, al)) {
                    files.add(al);
                    figures.add(al.getFileName().toString());
                }
            }
        }
        Path md = runDir.resolve("results.md");
        Files.writeString(md, markdown(runDir, results, groups, figures, findings,
                grid == null ? null : grid.reference()));
        files.add(1, md);
        return new Written(files, results.size());
    }

    // ---------------------------------------------------------------- ordering

    static final List<String> MODE_ORDER = List.of("bp", "usf", "brsf", "frsf", "fa", "dfa");

    static double modeRank(String f) {
        int i = MODE_ORDER.indexOf(f);
        if (i >= 0) return i;
        if (f.startsWith("psf:")) return 10 + Double.parseDouble(f.substring(4));
        return 100;
    }

    static int stabRank(String s) {
        Stabiliser st = Stabiliser.parse(s);
        return st == null ? 99 : st.ordinal();
    }

    static final Comparator<CellResult> ORDER = Comparator
            .comparing((CellResult r) -> r.cell().dataset())
            .thenComparing(r -> r.cell().modelLabel())
            .thenComparingInt(r -> stabRank(r.cell().stabiliser()))
            .thenComparingDouble(r -> modeRank(r.cell().feedback()))
            .thenComparingLong(r -> r.cell().seed());

    static List<String> datasetModels(List<CellResult> rs) {
        Set<String> s = new LinkedHashSet<>();
        for (CellResult r : rs) s.add(r.cell().dataset() + "|" + r.cell().modelLabel());
        return new ArrayList<>(s);
    }

    static List<String> stabilisers(List<CellResult> rs) {
        return rs.stream().map(r -> r.cell().stabiliser()).distinct()
                .sorted(Comparator.comparingInt(GridReport::stabRank)).collect(Collectors.toList());
    }

    static List<String> feedbacks(List<CellResult> rs) {
        return rs.stream().map(r -> r.cell().feedback()).distinct()
                .sorted(Comparator.comparingDouble(GridReport::modeRank)).collect(Collectors.toList());
    }

    // ---------------------------------------------------------------- the grid and its unfinished cells

    /** The grid file a run copied into {@code runDir}; null when there is none or it no longer parses. */
    GridSpec grid(Path runDir) {
        Path f = runDir.resolve("grid.yaml");
        if (!Files.isRegularFile(f)) return null;
        try {
            return GridSpec.load(f);
        } catch (GridFileException e) {
            log.accept("warning: " + e.getMessage() + "; reporting the cells on disk only (no unfinished cells, "
                    + "no reference comparison)");
            return null;
        }
    }

    /**
     * The stored results, plus one {@link CellResult#UNFINISHED} result for each cell of {@code grid} with
     * no finished result for its settings: its epochs are those its work folder's metrics.csv holds (none
     * when not started). A stored result for other settings is replaced, as the next run will redo it.
     */
    static List<CellResult> withUnfinished(Path runDir, List<CellResult> stored, GridSpec grid) {
        Map<String, CellResult> byId = new LinkedHashMap<>();
        for (CellResult r : stored) byId.put(r.cell().id(), r);
        for (CellSpec c : grid.cells()) {
            CellResult r = byId.get(c.id());
            if (r != null && (r.failed() || r.finished() && r.cell().equals(c))) continue;
            String why = r != null ? "stored result has other settings; the next run redoes it" : null;
            byId.put(c.id(), unfinished(c, GridRunner.workDir(runDir, c), why));
        }
        return new ArrayList<>(byId.values());
    }

    static CellResult unfinished(CellSpec c, Path work, String why) {
        List<CellResult.EpochRecord> epochs = new ArrayList<>();
        Path metrics = work.resolve("metrics.csv");
        String note = null;
        if (Files.isRegularFile(metrics)) {
            try {
                List<String> lines = Files.readAllLines(metrics);
                List<String> head = List.of(lines.get(0).split(","));
                int ep = head.indexOf("epoch"), loss = head.indexOf("loss"), tre = head.indexOf("train_error"),
                        tee = head.indexOf("test_error"), lr = head.indexOf("lr"), sec = head.indexOf("seconds");
                for (String line : lines.subList(1, lines.size())) {
                    if (line.isBlank()) continue;
                    String[] f = line.split(",");
                    epochs.add(new CellResult.EpochRecord(Integer.parseInt(f[ep]), Double.parseDouble(f[loss]),
                            Double.parseDouble(f[tre]), Double.parseDouble(f[tee]), Double.parseDouble(f[lr]),
                            Double.parseDouble(f[sec])));
                }
            } catch (IOException | RuntimeException e) {
                epochs.clear();
                note = metrics + " unreadable (" + Text.firstLine(String.valueOf(e.getMessage())) + ")";
            }
        }
        // No work folder may mean not started, or a copy of the run without its work/ (sync-results.sh).
        String msg = epochs.isEmpty() ? (Files.isDirectory(work) ? "started, no epoch done" : "no result yet")
                : "epoch " + epochs.size() + " of " + c.epochs() + " done";
        if (why != null) msg += "; " + why;
        if (note != null) msg += "; " + note;
        double wall = epochs.stream().mapToDouble(CellResult.EpochRecord::seconds).sum();
        return new CellResult(c, CellResult.UNFINISHED, msg, null, epochs, List.of(), List.of(), wall, null, null);
    }

    // ---------------------------------------------------------------- CSV

    /**
     * results.csv: one row per cell, the numbers a reader compares. epochs = epochs completed (of
     * epochs_planned); final_test_error = after the last epoch, best_test_error = the lowest after any epoch
     * (best_epoch), both empty unless the cell finished (status ok): a diverged or unfinished cell has none.
     */
    public static final List<String> RESULT_COLUMNS = List.of("id", "dataset", "model", "mode", "stabiliser",
            "fb_scale", "sweep", "seed", "status", "epochs", "epochs_planned", "final_test_error", "best_test_error",
            "best_epoch", "final_train_loss", "wall_seconds", "message");

    static String resultsCsv(List<CellResult> results) {
        StringBuilder sb = new StringBuilder(String.join(",", RESULT_COLUMNS)).append('\n');
        for (CellResult r : results) {
            CellSpec c = r.cell();
            List<CellResult.EpochRecord> ep = r.epochs();
            CellResult.EpochRecord best = r.ok() ? Group.bestEpoch(r) : null;
            List<Object> row = List.of(c.id(), c.dataset(), c.model(), c.feedback(), c.stabiliser(),
                    c.fbScale().xavier() ? "xavier" : fmtNum(c.fbScale().value()), c.sweep().replace(',', ' '), c.seed(), r.status(), ep.size(), c.epochs(),
                    r.ok() ? r.testError() : "", r.ok() ? Group.bestError(r) : "",
                    r.ok() ? (best == null ? c.epochs() : best.epoch()) : "",
                    r.ok() && !ep.isEmpty() ? ep.get(ep.size() - 1).trainLoss() : "",
                    String.format(Locale.ROOT, "%.1f", r.wallSeconds()), r.message() == null ? "" : r.message());
            sb.append(row.stream().map(GridReport::csvField).collect(Collectors.joining(","))).append('\n');
        }
        return sb.toString();
    }

    /** cells.csv: every setting of every cell, and its outcome. */

    public static final List<String> CSV_COLUMNS = List.of("id", "dataset", "model", "feedback", "stabiliser",
            "bn", "update", "seed", "epochs", "batch", "lr", "momentum", "weight_decay", "lr_steps", "lr_factor",
            "limit", "backend", "weight_init", "fb_scale", "fb_magnitude", "fa_sigma", "last_layer_bp",
            "diverge_bound", "eval_batch", "init", "sweep", "status", "test_error", "best_test_error", "final_train_loss",
            "final_train_error", "epochs_done", "wall_seconds", "device", "message");

    static String csv(List<CellResult> results) {
        StringBuilder sb = new StringBuilder(String.join(",", CSV_COLUMNS)).append('\n');
        for (CellResult r : results) {
            CellSpec c = r.cell();
            Stabiliser st = c.stab();
            List<CellResult.EpochRecord> ep = r.epochs();
            CellResult.EpochRecord last = ep.isEmpty() ? null : ep.get(ep.size() - 1);
            Double best = ep.stream().map(CellResult.EpochRecord::testError).filter(Double::isFinite)
                    .min(Double::compare).orElse(null);
            List<Object> row = List.of(c.id(), c.dataset(), c.model(), c.feedback(), c.stabiliser(),
                    st == null ? "" : st.bn, st == null ? "" : st.update.cliName(), c.seed(), c.epochs(),
                    c.batch(), c.lr(), c.momentum(), c.weightDecay(),
                    c.lrSteps().stream().map(String::valueOf).collect(Collectors.joining(" ")), c.lrFactor(),
                    c.limit(), c.backend(), c.weightInit(), c.fbScale().xavier() ? "xavier" : c.fbScale().value(), c.fbMagnitude(), c.faSigma(), c.lastLayerBp(),
                    c.divergeBound(), c.evalBatch(), c.init() == null ? "" : c.init(), c.sweep().replace(',', ' '),
                    r.status(), r.ok() ? r.testError() : "",
                    r.ok() && best != null ? best : "", last == null || r.unfinished() ? "" : last.trainLoss(),
                    last == null || r.unfinished() ? "" : last.trainError(), ep.size(),
                    String.format(Locale.ROOT, "%.1f", r.wallSeconds()), r.device() == null ? "" : r.device(),
                    r.message() == null ? "" : r.message());
            sb.append(row.stream().map(GridReport::csvField).collect(Collectors.joining(","))).append('\n');
        }
        return sb.toString();
    }

    static String csvField(Object o) {
        String s = String.valueOf(o);
        if (s.contains(",") || s.contains("\"") || s.contains("\n") || s.contains("\r"))
            return "\"" + s.replace("\"", "\"\"").replace("\r", " ").replace("\n", " ") + "\"";
        return s;
    }

    // ---------------------------------------------------------------- Markdown

    /** Runs of at least this many epochs also get the best-epoch table and the test-error-per-epoch figure. */
    static final int LONG_RUN = 5;

    String markdown(Path runDir, List<CellResult> results, Map<String, Group> groups, List<String> figures,
                    Findings findings, Reference reference) {
        StringBuilder sb = new StringBuilder();
        String name = runDir.toAbsolutePath().normalize().getFileName().toString();
        sb.append("# Grid report: ").append(name).append("\n\n");
        long ok = results.stream().filter(CellResult::ok).count();
        long div = results.stream().filter(CellResult::diverged).count();
        long fail = results.stream().filter(CellResult::failed).count();
        long open = results.stream().filter(CellResult::unfinished).count();
        double wall = results.stream().filter(r -> !r.unfinished()).mapToDouble(CellResult::wallSeconds).sum();
        // Cells resumed by a version that kept no wall time across invocations record only their last one:
        // less than their epochs' training time alone.
        List<String> shortWall = new ArrayList<>();
        double shortTraining = 0;
        for (CellResult r : results) {
            double training = r.epochs().stream().mapToDouble(CellResult.EpochRecord::seconds).sum();
            if (r.unfinished() || r.wallSeconds() + 1 >= training) continue;
            shortWall.add(r.cell().id());
            shortTraining += training;
        }
        sb.append(String.format(Locale.ROOT, "%d cells: %d finished, %d diverged, %d failed%s. Summed cell wall time %s%s.%n%n",
                results.size(), ok, div, fail, open == 0 ? "" : ", **" + open + " not finished yet**",
                GridRunner.duration(wall), shortWall.isEmpty() ? "" : String.format(Locale.ROOT,
                        ", too short: %d cell(s) resumed by an asymbp before 2026-12-06 record only their last invocation's"
                                + " (%s; their epochs' training time alone sums to %s)", shortWall.size(),
                        String.join(" ", shortWall), GridRunner.duration(shortTraining))));
        if (open > 0)
            sb.append("**Partial grid.** Groups are reported over the seeds that finished (the tables say how many "
                    + "are missing); an unfinished cell never appears as a number. Rerun `grid report` when the grid is done.\n\n");
        sb.append("Settings (per stabiliser):\n\n| stabiliser | BN | update | lr | momentum | weight decay | epochs | batch | lr steps | training examples | backend |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        Map<String, CellSpec> perStab = new TreeMap<>(Comparator.comparingInt(GridReport::stabRank));
        // a swept rate lists every value its cells ran with (one cell's alone would misreport the others)
        Map<String, Set<String>> rates = new HashMap<>();
        for (CellResult r : results) {
            perStab.putIfAbsent(r.cell().stabiliser(), r.cell());
            rates.computeIfAbsent(r.cell().stabiliser(), k -> new LinkedHashSet<>()).add(fmtNum(r.cell().lr()));
        }
        for (CellSpec c : perStab.values()) {
            Stabiliser st = c.stab();
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s |%n",
                    c.stabiliser(), st == null ? "?" : st.bn ? "yes" : "no", st == null ? "?" : st.update.cliName(),
                    String.join(", ", rates.get(c.stabiliser())), fmtNum(c.momentum()), fmtNum(c.weightDecay()), c.epochs(), c.batch(),
                    c.lrSteps().isEmpty() ? "none" : c.lrSteps() + " ×" + fmtNum(c.lrFactor()),
                    c.limit() == 0 ? "all" : "first " + c.limit(), c.backend()));
        }
        sb.append('\n');
        Set<String> devices = results.stream().map(CellResult::device).filter(d -> d != null)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        if (!devices.isEmpty()) sb.append("Ran on: ").append(String.join("; ", devices)).append(".\n\n");

        if (reference != null) sb.append(referenceTable(reference, groups));
        boolean longRuns = results.stream().anyMatch(r -> r.cell().epochs() >= LONG_RUN);
        List<String> fbs = feedbacks(results), sts = stabilisers(results);
        for (String dm : datasetModels(results)) {
            String[] p = dm.split("\\|", 2);
            errorTable(sb, groups, p[0], p[1], fbs, sts, longRuns);
        }
        List<CellResult> problems = results.stream().filter(r -> r.diverged() || r.failed()).collect(Collectors.toList());
        if (!problems.isEmpty()) {
            sb.append("## Cells that diverged or failed\n\n| cell | status | epochs done | message |\n|---|---|---|---|\n");
            for (CellResult r : problems)
                sb.append("| ").append(r.cell().id()).append(" | ").append(r.status()).append(" | ")
                        .append(r.epochs().size()).append(" | ")
                        .append(r.message() == null ? "" : r.message().replace("|", "\\|")).append(" |\n");
            sb.append('\n');
        }
        List<CellResult> unfinished = results.stream().filter(CellResult::unfinished).collect(Collectors.toList());
        if (!unfinished.isEmpty()) {
            sb.append("## Cells not finished yet\n\n| cell | epochs done | state |\n|---|---|---|\n");
            for (CellResult r : unfinished)
                sb.append("| ").append(r.cell().id()).append(" | ").append(r.epochs().size()).append(" of ")
                        .append(r.cell().epochs()).append(" | ").append(r.message().replace("|", "\\|")).append(" |\n");
            sb.append('\n');
        }
        if (!figures.isEmpty()) {
            sb.append("## Figures\n\n");
            for (String f : figures)
                if (!f.startsWith("alignment-")) sb.append("![").append(f).append("](").append(f).append(")\n\n");
            List<String> al = figures.stream().filter(f -> f.startsWith("alignment-")).collect(Collectors.toList());
            if (!al.isEmpty()) {
                sb.append("Alignment figures:\n\n");
                for (String f : al) sb.append("- [").append(f).append("](").append(f).append(")\n");
                sb.append('\n');
            }
            sb.append("Learning curves: top row training loss (mean over seeds, short windows; runs of " + LONG_RUN
                    + " epochs or more: each epoch's mean), bottom row test "
                    + "error after each epoch; diverged groups are left out and named in the title; y axes are shared "
                    + "along a row. Test error per epoch (long runs): mean over finished seeds per mode, every epoch (top; log "
                    + "scale when it spans more than a factor 3) and the second half of training (bottom). "
                    + "Alignment: per weight layer, the angle between V and W (top) and between the error sent back "
                    + "through V and true backprop's (bottom), after each epoch (0 = at initialisation), mean over seeds.\n\n");
        }
        sb.append(findings.markdown());
        return sb.toString();
    }

    /** Final test error per feedback and stabiliser; for long runs the best epoch's beside it. */
    private static void errorTable(StringBuilder sb, Map<String, Group> groups, String d, String m, List<String> fbs,
                                   List<String> sts, boolean withBest) {
        sb.append("## Test error (%), ").append(d).append(", ").append(m).append(withBest
                ? " — mean ± sd over seeds, after the last epoch (final) and at each seed's best epoch (best)\n\n| feedback |"
                : " — mean ± sd over seeds, after the last epoch\n\n| feedback |");
        for (String s : sts) sb.append(' ').append(s).append(withBest ? ": final | " + s + ": best |" : " |");
        sb.append("\n|---|");
        for (int i = 0; i < sts.size() * (withBest ? 2 : 1); i++) sb.append("---|");
        sb.append('\n');
        for (String f : fbs) {
            sb.append("| ").append(f).append(" |");
            for (String s : sts) {
                Group g = groups.get(Group.key(d, m, f, s));
                sb.append(' ').append(g == null ? "—" : g.cellText()).append(" |");
                if (withBest) sb.append(' ').append(g == null ? "—" : g.bestText()).append(" |");
            }
            sb.append('\n');
        }
        sb.append('\n');
    }

    /**
     * Ours beside the reference numbers, per dataset and mode: final and best-epoch error, the difference in
     * the reference's metric and whether it is within the dataset's tolerance (weak from fewer than 3 seeds).
     */
    static String referenceTable(Reference ref, Map<String, Group> groups) {
        StringBuilder sb = new StringBuilder("## Next to ").append(ref.source());
        if (ref.commit() != null) sb.append(" (commit ").append(ref.commit()).append(')');
        String metric = ref.best() ? "best-epoch" : "final";
        boolean tol = !ref.tolerance().isEmpty();
        sb.append("\n\nTest error in %. Reference: ").append(ref.best()
                ? "the best epoch's test error" : "the last epoch's test error");
        if (ref.note() != null) sb.append(" (").append(ref.note()).append(')');
        sb.append(". Ours: mean ± sd over the seeds that finished, after the last epoch (final) and at the epoch "
                + "with the lowest test error (best). The difference is ours ").append(metric).append(" − reference");
        if (tol) {
            sb.append("; within: |difference| ≤ the tolerance (");
            sb.append(ref.tolerance().entrySet().stream().map(e -> e.getKey() + " " + fmtNum(e.getValue()) + " points")
                    .collect(Collectors.joining(", ")));
            sb.append("), marked weak when it rests on fewer than ").append(Findings.FIRM_SEEDS).append(" seeds");
        }
        sb.append(".\n\n");
        // A setting column only when a dataset has several (model, stabiliser) combinations to tell apart.
        Map<String, List<String>> settings = new LinkedHashMap<>();
        for (String d : ref.values().keySet())
            settings.put(d, groups.values().stream().filter(g -> g.dataset().equals(d))
                    .sorted(Comparator.comparing(Group::model).thenComparingInt(g -> stabRank(g.stabiliser())))
                    .map(g -> g.model() + ", " + g.stabiliser()).distinct().collect(Collectors.toList()));
        boolean settingCol = settings.values().stream().anyMatch(l -> l.size() > 1);
        if (!settingCol) {
            Set<String> all = settings.values().stream().flatMap(List::stream).collect(Collectors.toCollection(LinkedHashSet::new));
            if (!all.isEmpty()) sb.append("Setting: ").append(String.join("; ", all)).append(".\n\n");
        }
        sb.append("| dataset |").append(settingCol ? " setting |" : "").append(" mode | seeds | ours: final | ours: best | reference | difference |")
                .append(tol ? " within? |" : "").append("\n|---|").append(settingCol ? "---|" : "")
                .append("---|---|---|---|---|---|").append(tol ? "---|" : "").append('\n');
        int rows = 0, within = 0, weak = 0;
        for (var e : ref.values().entrySet()) {
            String d = e.getKey();
            Double t = ref.tolerance().get(d);
            List<String> sets = settings.get(d).isEmpty() ? List.of("") : settings.get(d);
            for (String set : sets)
                for (var mv : e.getValue().entrySet()) {
                    Group g = null;
                    if (!set.isEmpty()) {
                        String[] ms = set.split(", ", 2);
                        g = groups.get(Group.key(d, ms[0], mv.getKey(), ms[1]));
                    }
                    sb.append("| ").append(d).append(" |");
                    if (settingCol) sb.append(' ').append(set).append(" |");
                    sb.append(' ').append(mv.getKey()).append(" | ");
                    if (g == null) {
                        sb.append("— | no cells | — | ").append(fmtNum(mv.getValue())).append(" | — |");
                        if (tol) sb.append(" — |");
                        sb.append('\n');
                        continue;
                    }
                    sb.append(g.nOk()).append(g.n() > g.nOk() ? " of " + g.n() : "").append(" | ")
                            .append(g.cellText()).append(" | ").append(g.bestText()).append(" | ")
                            .append(fmtNum(mv.getValue())).append(" | ");
                    double ours = ref.best() ? g.meanBest() : g.mean();
                    boolean usable = g.usable();
                    sb.append(usable ? String.format(Locale.ROOT, "%+.2f", ours - mv.getValue()) : "—").append(" |");
                    if (tol) {
                        rows++;
                        String w;
                        if (t == null) w = "—";
                        else if (g.diverged()) w = "no (diverged)";
                        else if (!usable) w = "not yet";
                        else {
                            boolean in = Math.abs(ours - mv.getValue()) <= t + 1e-9;
                            if (in) within++;
                            boolean isWeak = g.nOk() < Findings.FIRM_SEEDS;
                            if (isWeak) weak++;
                            w = (in ? "yes" : "no") + (isWeak ? " (weak: " + g.nOk() + (g.nOk() == 1 ? " seed)" : " seeds)") : "");
                        }
                        sb.append(' ').append(w).append(" |");
                    }
                    sb.append('\n');
                }
        }
        sb.append('\n');
        if (tol) sb.append(String.format(Locale.ROOT, "Within tolerance: %d of %d%s.%n%n", within, rows,
                weak == 0 ? "" : " (" + weak + " of the checks rest on fewer than " + Findings.FIRM_SEEDS + " seeds: weak)"));
        return sb.toString();
    }

    static String fmtNum(double v) {
        if (v == 0) return "0";
        if (v == Math.rint(v) && Math.abs(v) < 1e6) return String.valueOf((long) v);
        String s = String.format(Locale.ROOT, "%.6g", v);
        if (s.contains("e")) return s.replaceAll("\\.?0+e", "e");
        return s.contains(".") ? s.replaceAll("0+$", "").replaceAll("\\.$", "") : s;
    }

    // ---------------------------------------------------------------- figures

    /** Point-wise mean over seeds of equally long series; the first seed's x values. */
    static List<double[]> meanSeries(List<List<double[]>> perSeed) {
        List<List<double[]>> nonEmpty = perSeed.stream().filter(l -> !l.isEmpty()).collect(Collectors.toList());
        if (nonEmpty.isEmpty()) return List.of();
        int n = nonEmpty.stream().mapToInt(List::size).min().getAsInt();
        List<double[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            double s = 0;
            for (List<double[]> l : nonEmpty) s += l.get(i)[1];
            out.add(new double[] {nonEmpty.get(0).get(i)[0], s / nonEmpty.size()});
        }
        return out;
    }

    private static List<String> stabilisersOf(List<Group> gs) {
        return gs.stream().map(Group::stabiliser).distinct()
                .sorted(Comparator.comparingInt(GridReport::stabRank)).collect(Collectors.toList());
    }

    private static List<Group> inSetting(List<Group> gs, String s) {
        return gs.stream().filter(g -> g.stabiliser().equals(s))
                .sorted(Comparator.comparingDouble(g -> modeRank(g.feedback()))).collect(Collectors.toList());
    }

    private static List<Group> of(Map<String, Group> groups, String d, String m) {
        return groups.values().stream().filter(g -> g.dataset().equals(d) && g.model().equals(m))
                .collect(Collectors.toList());
    }

    void learningCurves(Map<String, Group> groups, String d, String m, Path out) throws IOException {
        List<Group> gs = of(groups, d, m);
        // Long runs: the loss as each epoch's mean (the short-window trace would be thousands of noisy points).
        int epochs = gs.stream().flatMap(g -> g.runs().stream()).mapToInt(r -> r.epochs().size()).max().orElse(0);
        boolean longRun = epochs >= LONG_RUN;
        List<XYChart> losses = new ArrayList<>(), errors = new ArrayList<>();
        for (String s : stabilisersOf(gs)) {
            List<Group> here = inSetting(gs, s);
            List<String> div = here.stream().filter(Group::diverged).map(Group::feedback).collect(Collectors.toList());
            // Long lists would run off the panel: name three, count the rest.
            String names = String.join(", ", div.subList(0, Math.min(3, div.size())))
                    + (div.size() > 3 ? " +" + (div.size() - 3) + " more" : "");
            String suffix = div.isEmpty() ? "" : " (diverged: " + names + ")";
            XYChart loss = Plots.panel(d + " " + m + ", " + s + suffix, "epoch",
                    longRun ? "training loss (epoch mean)" : "training loss");
            XYChart err = Plots.panel(d + " " + m + ", " + s, "epoch", "test error (%)");
            for (Group g : here) {
                if (g.diverged()) continue;
                List<List<double[]>> tr = new ArrayList<>(), te = new ArrayList<>();
                for (CellResult r : g.runs()) {
                    if (!r.ok()) continue;
                    tr.add(longRun
                            ? r.epochs().stream().map(e -> new double[] {e.epoch(), e.trainLoss()}).collect(Collectors.toList())
                            : r.lossTrace().stream().map(p -> new double[] {p.epoch(), p.loss()}).collect(Collectors.toList()));
                    te.add(r.epochs().stream().map(e -> new double[] {e.epoch(), e.testError()}).collect(Collectors.toList()));
                }
                Plots.addSeries(loss, g.feedback(), meanSeries(tr), true);
                Plots.addSeries(err, g.feedback(), meanSeries(te), true);
            }
            Plots.placeholder(loss);
            Plots.placeholder(err);
            if (longRun) {
                Plots.roundXLabels(loss, epochs > 40 ? 10 : 5);
                Plots.roundXLabels(err, epochs > 40 ? 10 : 5);
            }
            losses.add(loss);
            errors.add(err);
        }
        Plots.shareY(losses, Plots.LOG_ABOVE, null);
        Plots.shareY(errors, Plots.LOG_ABOVE, null);
        Plots.save(List.of(losses, errors), out);
    }

    /**
     * Test error after each epoch, mean over finished seeds per mode, one column per stabiliser: every epoch
     * (top; log scale when the errors span more than a factor 3), and the second half of training on a
     * linear scale (bottom), where the modes'
     * final levels are told apart. Returns false (writing nothing) when no finished cell of (d, m) ran
     * {@link #LONG_RUN} epochs or more.
     */
    boolean testErrorCurves(Map<String, Group> groups, String d, String m, Path out) throws IOException {
        List<Group> gs = of(groups, d, m);
        int epochs = gs.stream().flatMap(g -> g.runs().stream()).filter(CellResult::ok)
                .mapToInt(r -> r.epochs().size()).max().orElse(0);
        if (epochs < LONG_RUN) return false;
        int from = epochs / 2 + 1;
        List<XYChart> all = new ArrayList<>(), tail = new ArrayList<>();
        for (String s : stabilisersOf(gs)) {
            XYChart top = Plots.panel(d + " " + m + ", " + s + ": test error, every epoch", "epoch",
                    "test error (%)", 640, 400);
            XYChart bottom = Plots.panel(d + " " + m + ", " + s + ": epochs " + from + "–" + epochs, "epoch",
                    "test error (%)", 640, 400);
            for (Group g : inSetting(gs, s)) {
                List<List<double[]>> te = new ArrayList<>();
                for (CellResult r : g.runs())
                    if (r.ok())
                        te.add(r.epochs().stream().map(e -> new double[] {e.epoch(), e.testError()}).collect(Collectors.toList()));
                String label = g.feedback() + (g.nOk() < g.n() ? " (" + g.nOk() + " of " + g.n() + " seeds)" : "");
                List<double[]> mean = meanSeries(te);
                Plots.addSeries(top, label, mean, true);
                Plots.addSeries(bottom, label, mean.stream().filter(p -> p[0] >= from).collect(Collectors.toList()), true);
            }
            Plots.placeholder(top);
            Plots.placeholder(bottom);
            // XChart ticks equally spaced x data at every k-th value (1, 5, 9, ...): label round epochs only.
            Plots.roundXLabels(top, epochs > 40 ? 10 : 5);
            Plots.roundXLabels(bottom, epochs > 40 ? 5 : 1);
            all.add(top);
            tail.add(bottom);
        }
        Plots.shareY(all, 3, null);   // a log axis shows less than a factor 3 with two or three labels
        Plots.shareY(tail, Double.POSITIVE_INFINITY, null);
        Plots.save(List.of(all, tail), out);
        return true;
    }

    /** Returns false (and writes nothing) when no run of the group recorded alignment. */
    boolean alignmentPlot(Map<String, Group> groups, String d, String m, String s, Path out) throws IOException {
        List<Group> here = inSetting(of(groups, d, m), s);
        // layer index -> name, over every run that has alignment
        TreeMap<Integer, String> layers = new TreeMap<>();
        for (Group g : here)
            for (CellResult r : g.runs())
                for (CellResult.Alignment a : r.alignment()) layers.putIfAbsent(a.layer(), a.name());
        if (layers.isEmpty()) return false;
        List<XYChart> top = new ArrayList<>(), bottom = new ArrayList<>();
        for (var layer : layers.entrySet()) {
            String lname = layer.getValue() == null ? "layer " + layer.getKey() : layer.getValue();
            XYChart vw = Plots.panel(d + " " + s + ": " + lname + ", V vs W", "epoch", "angle (degrees)");
            XYChart dl = Plots.panel(d + " " + s + ": " + lname + ", δ vs backprop's", "epoch", "angle (degrees)");
            for (Group g : here) {
                Map<Integer, double[]> sumVW = new TreeMap<>(), sumD = new TreeMap<>();
                for (CellResult r : g.runs()) {
                    if (r.failed()) continue;
                    for (CellResult.Alignment a : r.alignment()) {
                        if (a.layer() != layer.getKey()) continue;
                        acc(sumVW, a.epoch(), a.angleVW());
                        acc(sumD, a.epoch(), a.angleDelta());
                    }
                }
                String label = g.feedback() + (g.diverged() ? " (diverged)" : "");
                Plots.addSeries(vw, label, means(sumVW), false);
                Plots.addSeries(dl, label, means(sumD), false);
            }
            Plots.placeholder(vw);
            Plots.placeholder(dl);
            top.add(vw);
            bottom.add(dl);
        }
        List<XYChart> all = new ArrayList<>(top);
        all.addAll(bottom);
        Plots.shareY(all, Double.POSITIVE_INFINITY, 0.0);
        Plots.save(List.of(top, bottom), out);
        return true;
    }

    private static void acc(Map<Integer, double[]> sums, int epoch, double v) {
        if (!Double.isFinite(v)) return;
        double[] s = sums.computeIfAbsent(epoch, k -> new double[2]);
        s[0] += v;
        s[1]++;
    }

    private static List<double[]> means(Map<Integer, double[]> sums) {
        List<double[]> out = new ArrayList<>();
        for (var e : new LinkedHashMap<>(sums).entrySet())
            out.add(new double[] {e.getKey(), e.getValue()[0] / e.getValue()[1]});
        return out;
    }
}
