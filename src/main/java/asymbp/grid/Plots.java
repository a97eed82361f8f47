package asymbp.grid;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.MathContext;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The report's figures: XChart panels without legends, laid out in a grid with one legend for the whole
 * figure, clean tick labels, one colour per feedback mode (psf graded by p) and y axes shared along a row.
 */
final class Plots {
    private Plots() {}

    static final int PANEL_W = 520, PANEL_H = 340;

    static XYChart panel(String title, String xTitle, String yTitle) {
        return panel(title, xTitle, yTitle, PANEL_W, PANEL_H);
    }

    static XYChart panel(String title, String xTitle, String yTitle, int width, int height) {
        XYChart c = new XYChartBuilder().width(width).height(height).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        var st = c.getStyler();
        st.setLegendVisible(false);
        st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 12));
        st.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
        st.setxAxisTickLabelsFormattingFunction(Plots::tick);
        st.setyAxisTickLabelsFormattingFunction(Plots::tick);
        return c;
    }

    /**
     * Labels only the x ticks at multiples of {@code every} (XChart puts ticks of equally spaced x data on
     * every k-th value, 1, 5, 9, ...), without vertical grid lines, which would fall on the unlabelled ones.
     * For x in epochs, whole or fractional.
     */
    static void roundXLabels(XYChart c, int every) {
        // XChart wants every label distinct and non-empty: the unlabelled ones are distinct runs of zero-width spaces.
        c.getStyler().setxAxisTickLabelsFormattingFunction(v -> Math.abs(v - Math.rint(v)) < 1e-6
                && Math.rint(v) % every == 0 ? tick(Math.rint(v)) : invisible(Math.round(v * 1000)));
        c.getStyler().setPlotGridVerticalLinesVisible(false);
    }

    /** A distinct, non-empty label that draws nothing: k in binary, in two zero-width characters. */
    static String invisible(long k) {
        StringBuilder sb = new StringBuilder("\u200D");
        for (long v = Math.abs(k); v > 0; v >>= 1) sb.append((v & 1) == 0 ? '\u200B' : '\u200C');
        return k < 0 ? sb.append('\u2060').toString() : sb.toString();
    }

    /**
     * A tick label without float noise: the value rounded to 6 significant digits, trailing zeros dropped
     * (15.739999999999998 → "15.74", 0.30000000000000004 → "0.3", 20.0 → "20").
     */
    static String tick(Double v) {
        if (v == null || !Double.isFinite(v)) return "";
        if (v == 0) return "0";
        return new BigDecimal(v).round(new MathContext(6)).stripTrailingZeros().toPlainString();
    }

    static void addSeries(XYChart c, String name, List<double[]> points, boolean positive) {
        List<double[]> ok = points.stream().filter(p -> Double.isFinite(p[0]) && Double.isFinite(p[1]))
                .collect(Collectors.toList());
        if (positive) ok.removeIf(p -> p[1] <= 0);
        if (ok.isEmpty()) return;
        XYSeries s = c.addSeries(name, ok.stream().mapToDouble(p -> p[0]).toArray(),
                ok.stream().mapToDouble(p -> p[1]).toArray());
        s.setMarker(ok.size() <= 12 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
        s.setMarkerColor(colour(name));
        s.setLineColor(colour(name));
    }

    /**
     * One colour per feedback mode in every figure. The psf levels are one hue, light (p = 0, least sign
     * agreement) to dark (p near 1), so the ladder reads as a ladder; frsf (p = 1) keeps its own colour.
     */
    static Color colour(String label) {
        String f = label.split(" ")[0];
        switch (f) {
            case "bp": return Color.BLACK;
            case "usf": return new Color(0x1f77b4);
            case "brsf": return new Color(0x2ca02c);
            case "frsf": return new Color(0x17becf);
            case "fa": return new Color(0x9467bd);
            case "dfa": return new Color(0xe377c2);
            default:
                if (f.startsWith("psf:")) {
                    double p = Math.max(0, Math.min(1, Double.parseDouble(f.substring(4))));
                    return Color.getHSBColor(0.03f, (float) (0.45 + 0.55 * p), (float) (0.97 - 0.50 * p));
                }
                return Color.GRAY;
        }
    }

    /** Ensures a chart with no series still renders (XChart refuses to draw an empty chart). */
    static void placeholder(XYChart c) {
        if (c.getSeriesMap().isEmpty()) {
            XYSeries s = c.addSeries("no finished runs", new double[] {0}, new double[] {1});
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(Color.LIGHT_GRAY);
        }
    }

    /** Data spanning more than this factor get a log axis (psf:0 near chance beside bp near 1 %). */
    static final double LOG_ABOVE = 10;

    /**
     * One y range for every panel of a row, so panels compare at a glance; a log axis for the whole row when
     * the data span more than a factor {@code logAbove} (positive infinity: never). {@code min} pins the
     * lower end of a linear axis (0 for angles); null = the data's.
     */
    static void shareY(List<XYChart> row, double logAbove, Double min) {
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (XYChart c : row)
            for (XYSeries s : c.getSeriesMap().values()) {
                if (s.getName().equals("no finished runs")) continue;
                for (double y : s.getYData()) { lo = Math.min(lo, y); hi = Math.max(hi, y); }
            }
        if (lo > hi) return;
        boolean useLog = lo > 0 && hi / lo > logAbove;
        for (XYChart c : row) {
            var st = c.getStyler();
            st.setYAxisLogarithmic(useLog);
            if (useLog) {
                // XChart's log axis has its own (clean) labels; a formatting function would make it tick linearly.
                st.setyAxisTickLabelsFormattingFunction(null);
                // Labels at 1..9 × 10^k crowd each other beyond a decade; labels at decades only leave a range
                // of one or two decades with a single label, so such a range is widened to whole decades.
                boolean decades = hi / lo >= 10;
                st.setYAxisLogarithmicDecadeOnly(decades);
                boolean snap = decades && hi / lo <= 100;
                st.setYAxisMin(snap ? Math.pow(10, Math.floor(Math.log10(lo) + 1e-9)) : lo);
                st.setYAxisMax(snap ? Math.pow(10, Math.ceil(Math.log10(hi) - 1e-9)) : hi);
            } else {
                double pad = hi == lo ? Math.max(1e-9, Math.abs(hi) * 0.05) : 0.03 * (hi - lo);
                st.setYAxisMin(min != null ? min : lo - pad);
                st.setYAxisMax(hi + pad);
            }
        }
    }

    /**
     * Writes the panels (rows × columns, rows may be shorter; all of the first panel's size) as one PNG with a
     * single legend on the right:
     * every series name of the figure once, in the order first drawn.
     */
    static void save(List<List<XYChart>> rows, Path out) throws IOException {
        Map<String, Color> seen = new LinkedHashMap<>();
        int cols = 0;
        for (List<XYChart> row : rows) {
            cols = Math.max(cols, row.size());
            for (XYChart c : row)
                for (XYSeries s : c.getSeriesMap().values()) seen.putIfAbsent(s.getName(), s.getLineColor());
        }
        // Modes in the report's order (bp, usf, brsf, frsf, fa, dfa, psf by p), whichever panel drew them first.
        Map<String, Color> legend = new LinkedHashMap<>();
        seen.keySet().stream().sorted(Comparator.comparingDouble(n -> GridReport.modeRank(n.split(" ")[0])))
                .forEach(n -> legend.put(n, seen.get(n)));
        Color background = rows.get(0).get(0).getStyler().getChartBackgroundColor();
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 13);
        int legendW = 40 + 9 * legend.keySet().stream().mapToInt(String::length).max().orElse(4) + 40;
        int pw = rows.get(0).get(0).getWidth(), ph = rows.get(0).get(0).getHeight();
        int w = cols * pw + legendW, h = rows.size() * ph;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(background);
        g.fillRect(0, 0, w, h);
        for (int r = 0; r < rows.size(); r++)
            for (int c = 0; c < rows.get(r).size(); c++)
                g.drawImage(BitmapEncoder.getBufferedImage(rows.get(r).get(c)), c * pw, r * ph, null);
        g.setFont(font);
        int x = cols * pw + 16, y = Math.max(30, h / 2 - legend.size() * 11);
        g.setColor(Color.WHITE);
        g.fillRect(x - 8, y - 20, legendW - 16, legend.size() * 22 + 12);
        g.setColor(Color.GRAY);
        g.setStroke(new BasicStroke(1f));
        g.drawRect(x - 8, y - 20, legendW - 16, legend.size() * 22 + 12);
        for (var e : legend.entrySet()) {
            g.setColor(e.getValue() == null ? Color.GRAY : e.getValue());
            g.setStroke(new BasicStroke(3f));
            g.drawLine(x, y - 5, x + 26, y - 5);
            g.setColor(Color.BLACK);
            g.drawString(e.getKey(), x + 34, y);
            y += 22;
        }
        g.dispose();
        ImageIO.write(img, "png", out.toFile());
    }
}
