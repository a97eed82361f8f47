package asymbp.grid;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
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
 * Turns a run directory's cells/ into results.csv, results.md (tables, figures, findings), findings.md,
 * and PNG figures: learning curves per dataset and model, alignment angles per dataset, model and
 * stabiliser.
 */
public final class GridReport {

    /** Files written, for the caller to list. */
    public record Written(List<Path> files, int cells) {}

    private final Consumer<String> log;

    public GridReport(Consumer<String> log) { this.log = log; }

    public Written write(Path runDir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<CellResult> results = new ResultStore(runDir).readAll(log);
        if (results.isEmpty())
            throw new GridFileException(runDir + ": no cell results under " + runDir.resolve("cells"));
        results.sort(ORDER);
        List<Path> files = new ArrayList<>();
        Path csv = runDir.resolve("results.csv");
        Files.writeString(csv, csv(results));
        files.add(csv);
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
        Files.writeString(md, markdown(runDir, results, groups, figures, findings));
        files.add(1, md);
        return new Written(files, results.size());
    }

    // ---------------------------------------------------------------- ordering

    static final List<String> MODE_ORDER = List.of("bp", "usf", "brsf", "frsf", "fa");

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

    // ---------------------------------------------------------------- CSV

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
                    r.ok() && best != null ? best : "", last == null ? "" : last.trainLoss(),
                    last == null ? "" : last.trainError(), ep.size(),
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

    String markdown(Path runDir, List<CellResult> results, Map<String, Group> groups, List<String> figures,
                    Findings findings) {
        StringBuilder sb = new StringBuilder();
        String name = runDir.toAbsolutePath().normalize().getFileName().toString();
        sb.append("# Grid report: ").append(name).append("\n\n");
        long ok = results.stream().filter(CellResult::ok).count();
        long div = results.stream().filter(CellResult::diverged).count();
        long fail = results.stream().filter(CellResult::failed).count();
        double wall = results.stream().mapToDouble(CellResult::wallSeconds).sum();
        sb.append(String.format(Locale.ROOT, "%d cells: %d finished, %d diverged, %d failed. Summed cell wall time %s.%n%n",
                results.size(), ok, div, fail, GridRunner.duration(wall)));
        sb.append("Settings (per stabiliser):\n\n| stabiliser | BN | update | lr | momentum | weight decay | epochs | batch | lr steps | training examples | backend |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
        Map<String, CellSpec> perStab = new TreeMap<>(Comparator.comparingInt(GridReport::stabRank));
        for (CellResult r : results) perStab.putIfAbsent(r.cell().stabiliser(), r.cell());
        for (CellSpec c : perStab.values()) {
            Stabiliser st = c.stab();
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | %d | %d | %s | %s | %s |%n",
                    c.stabiliser(), st == null ? "?" : st.bn ? "yes" : "no", st == null ? "?" : st.update.cliName(),
                    fmtNum(c.lr()), fmtNum(c.momentum()), fmtNum(c.weightDecay()), c.epochs(), c.batch(),
                    c.lrSteps().isEmpty() ? "none" : c.lrSteps() + " ×" + fmtNum(c.lrFactor()),
                    c.limit() == 0 ? "all" : "first " + c.limit(), c.backend()));
        }
        sb.append('\n');
        Set<String> devices = results.stream().map(CellResult::device).filter(d -> d != null)
                .collect(Collectors.toCollection(LinkedHashSet::new));
        if (!devices.isEmpty()) sb.append("Ran on: ").append(String.join("; ", devices)).append(".\n\n");

        List<String> fbs = feedbacks(results), sts = stabilisers(results);
        for (String dm : datasetModels(results)) {
            String[] p = dm.split("\\|", 2);
            sb.append("## Test error (%), ").append(p[0]).append(", ").append(p[1])
                    .append(" — mean ± sd over seeds, after the last epoch\n\n| feedback |");
            for (String s : sts) sb.append(' ').append(s).append(" |");
            sb.append("\n|---|");
            for (int i = 0; i < sts.size(); i++) sb.append("---|");
            sb.append('\n');
            for (String f : fbs) {
                sb.append("| ").append(f).append(" |");
                for (String s : sts) {
                    Group g = groups.get(Group.key(p[0], p[1], f, s));
                    sb.append(' ').append(g == null ? "—" : g.cellText()).append(" |");
                }
                sb.append('\n');
            }
            sb.append('\n');
        }
        List<CellResult> problems = results.stream().filter(r -> !r.ok()).collect(Collectors.toList());
        if (!problems.isEmpty()) {
            sb.append("## Cells that diverged or failed\n\n| cell | status | message |\n|---|---|---|\n");
            for (CellResult r : problems)
                sb.append("| ").append(r.cell().id()).append(" | ").append(r.status()).append(" | ")
                        .append(r.message() == null ? "" : r.message().replace("|", "\\|")).append(" |\n");
            sb.append('\n');
        }
        if (!figures.isEmpty()) {
            sb.append("## Figures\n\n");
            for (String f : figures) sb.append("- [").append(f).append("](").append(f).append(")\n");
            sb.append("\nLearning curves: top row training loss (mean over seeds, short windows), bottom row test "
                    + "error after each epoch; diverged groups are left out and named in the title. Alignment: per "
                    + "weight layer, the angle between V and W (top) and between the error sent back through V and "
                    + "true backprop's (bottom), after each epoch (0 = at initialisation), mean over seeds.\n\n");
        }
        sb.append(findings.markdown());
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

    private static XYChart panel(String title, String xTitle, String yTitle, boolean logY) {
        XYChart c = new XYChartBuilder().width(560).height(360).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        Styler st = c.getStyler();
        st.setLegendPosition(Styler.LegendPosition.OutsideE);
        st.setLegendLayout(Styler.LegendLayout.Vertical);
        st.setLegendFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
        c.getStyler().setYAxisLogarithmic(logY);
        c.getStyler().setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        return c;
    }

    private static void addSeries(XYChart c, String name, List<double[]> points, boolean positive) {
        List<double[]> ok = points.stream().filter(p -> Double.isFinite(p[0]) && Double.isFinite(p[1]))
                .collect(Collectors.toList());
        if (positive) ok.removeIf(p -> p[1] <= 0);
        if (ok.isEmpty()) return;
        double[] x = ok.stream().mapToDouble(p -> p[0]).toArray();
        double[] y = ok.stream().mapToDouble(p -> p[1]).toArray();
        XYSeries s = c.addSeries(name, x, y);
        s.setMarker(ok.size() <= 12 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        s.setMarkerColor(colour(name));
        s.setLineColor(colour(name));
    }

    /** One colour per feedback mode in every figure; psf levels shade from red (p=0) to orange (p=0.75). */
    static Color colour(String label) {
        String f = label.split(" ")[0];
        switch (f) {
            case "bp": return Color.BLACK;
            case "usf": return new Color(0x1f77b4);
            case "brsf": return new Color(0x2ca02c);
            case "frsf": return new Color(0x17becf);
            case "fa": return new Color(0x9467bd);
            default:
                if (f.startsWith("psf:")) {
                    double p = Math.max(0, Math.min(1, Double.parseDouble(f.substring(4))));
                    return new Color(0xd6 - (int) (0x30 * p), 0x27 + (int) (0x90 * p), 0x28);
                }
                return Color.GRAY;
        }
    }

    /** Log scale on y when the data span more than a factor 10 (psf:0 near chance beside bp near 1%). */
    private static void autoLog(XYChart c) {
        double lo = Double.MAX_VALUE, hi = 0;
        for (XYSeries s : c.getSeriesMap().values())
            for (double y : s.getYData()) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
        if (lo > 0 && hi / lo > 10) c.getStyler().setYAxisLogarithmic(true);
    }

    /** Ensures a chart with no series still renders (XChart refuses to draw an empty chart). */
    private static void placeholder(XYChart c) {
        if (c.getSeriesMap().isEmpty()) {
            XYSeries s = c.addSeries("no finished runs", new double[] {0}, new double[] {1});
            s.setMarker(SeriesMarkers.NONE);
        }
    }

    /** Point-wise mean over seeds of equally long series; the first seed's x values. */
    private static List<double[]> meanSeries(List<List<double[]>> perSeed) {
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

    void learningCurves(Map<String, Group> groups, String d, String m, Path out) throws IOException {
        List<Group> gs = groups.values().stream().filter(g -> g.dataset().equals(d) && g.model().equals(m))
                .collect(Collectors.toList());
        List<String> sts = gs.stream().map(Group::stabiliser).distinct()
                .sorted(Comparator.comparingInt(GridReport::stabRank)).collect(Collectors.toList());
        List<XYChart> losses = new ArrayList<>(), errors = new ArrayList<>();
        for (String s : sts) {
            List<Group> here = gs.stream().filter(g -> g.stabiliser().equals(s))
                    .sorted(Comparator.comparingDouble(g -> modeRank(g.feedback()))).collect(Collectors.toList());
            List<String> div = here.stream().filter(Group::diverged).map(Group::feedback).collect(Collectors.toList());
            // Long lists would run off the panel: name three, count the rest.
            String names = String.join(", ", div.subList(0, Math.min(3, div.size())))
                    + (div.size() > 3 ? " +" + (div.size() - 3) + " more" : "");
            String suffix = div.isEmpty() ? "" : " (diverged: " + names + ")";
            XYChart loss = panel(d + " " + m + ", " + s + suffix, "epoch", "training loss", false);
            XYChart err = panel(d + " " + m + ", " + s, "epoch", "test error (%)", false);
            for (Group g : here) {
                if (g.diverged()) continue;
                List<List<double[]>> tr = new ArrayList<>(), te = new ArrayList<>();
                for (CellResult r : g.runs()) {
                    if (!r.ok()) continue;
                    tr.add(r.lossTrace().stream().map(p -> new double[] {p.epoch(), p.loss()}).collect(Collectors.toList()));
                    te.add(r.epochs().stream().map(e -> new double[] {e.epoch(), e.testError()}).collect(Collectors.toList()));
                }
                addSeries(loss, g.feedback(), meanSeries(tr), true);
                addSeries(err, g.feedback(), meanSeries(te), true);
            }
            autoLog(loss);
            autoLog(err);
            placeholder(loss);
            placeholder(err);
            losses.add(loss);
            errors.add(err);
        }
        List<XYChart> all = new ArrayList<>(losses);
        all.addAll(errors);
        BitmapEncoder.saveBitmap(all, 2, sts.size(), out.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** Returns false (and writes nothing) when no run of the group recorded alignment. */
    boolean alignmentPlot(Map<String, Group> groups, String d, String m, String s, Path out) throws IOException {
        List<Group> here = groups.values().stream()
                .filter(g -> g.dataset().equals(d) && g.model().equals(m) && g.stabiliser().equals(s))
                .sorted(Comparator.comparingDouble(g -> modeRank(g.feedback()))).collect(Collectors.toList());
        // layer index -> name, over every run that has alignment
        TreeMap<Integer, String> layers = new TreeMap<>();
        for (Group g : here)
            for (CellResult r : g.runs())
                for (CellResult.Alignment a : r.alignment()) layers.putIfAbsent(a.layer(), a.name());
        if (layers.isEmpty()) return false;
        List<XYChart> top = new ArrayList<>(), bottom = new ArrayList<>();
        for (var layer : layers.entrySet()) {
            String lname = layer.getValue() == null ? "layer " + layer.getKey() : layer.getValue();
            XYChart vw = panel(d + " " + s + ": " + lname + ", V vs W", "epoch", "angle (degrees)", false);
            XYChart dl = panel(d + " " + s + ": " + lname + ", δ vs backprop's", "epoch", "angle (degrees)", false);
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
                addSeries(vw, label, means(sumVW), false);
                addSeries(dl, label, means(sumD), false);
            }
            placeholder(vw);
            placeholder(dl);
            vw.getStyler().setYAxisMin(0.0);
            dl.getStyler().setYAxisMin(0.0);
            top.add(vw);
            bottom.add(dl);
        }
        List<XYChart> all = new ArrayList<>(top);
        all.addAll(bottom);
        BitmapEncoder.saveBitmap(all, 2, layers.size(), out.toString(), BitmapEncoder.BitmapFormat.PNG);
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
