package asymbp.grid;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Tests the paper's four claims (docs/spec.md §1) against a grid's final test errors.
 *
 * <p>The rule: two error levels differ only when they are further apart than the margin
 * m = max(2·s, 0.10·ē), where s is the pooled seed standard deviation of the groups compared (root mean
 * of their variances; 0 with a single seed) and ē their mean error. So a difference must beat both the
 * seed-to-seed noise and a tenth of the error itself. A diverged group counts as infinitely bad.
 */
public final class Findings {

    public enum Outcome {
        HOLDS("holds"), PARTLY("partly holds"), FAILS("does not hold"), INCONCLUSIVE("inconclusive"),
        UNTESTED("not tested");
        public final String text;
        Outcome(String text) { this.text = text; }
    }

    /** Fewer seeds per group than this make a verdict weak: two seeds say little about seed-to-seed spread. */
    public static final int FIRM_SEEDS = 3;

    /**
     * One claim on one dataset and model, with one line of numbers per setting examined.
     *
     * @param seeds the fewest seeds with an outcome (finished or diverged) in any group the verdict rests on
     */
    public record Verdict(int claim, String dataset, String model, Outcome outcome, List<String> details, int seeds) {
        /** A decided verdict drawn from fewer than {@link #FIRM_SEEDS} seeds. */
        public boolean weak() {
            return outcome != Outcome.UNTESTED && outcome != Outcome.INCONCLUSIVE && seeds < FIRM_SEEDS;
        }

        /** "holds", or "holds (weak: 2 seeds)". */
        public String text() { return outcome.text + (weak() ? " (weak: " + seeds + (seeds == 1 ? " seed)" : " seeds)") : ""); }
    }

    public static final String[] CLAIMS = {
            "",
            "Magnitudes of V do not matter: usf, brsf and frsf reach the same error",
            "Signs matter: error falls as the share p of concordant signs rises (psf:0 → 0.25 → 0.5 → 0.75 → frsf = p 1)",
            "Sign-concordant feedback (usf, brsf, frsf) learns as well as backprop (bp) or better",
            "It needs a stabiliser: without BN or BM (plain SGD), usf and brsf diverge or do much worse",
    };

    public static final String RULE = "Rule: two errors differ only when they are further apart than the margin "
            + "m = max(2·s, 0.10·ē), s = pooled seed standard deviation of the groups compared (root mean of "
            + "their variances; 0 with one seed), ē = their mean test error. A diverged group counts as infinitely "
            + "bad. Claims 1–3 are checked in every stabilised setting (bn, bm, bn+bm) of the grid and hold when "
            + "they hold in all of them, partly when in some. Claim 1: max − min of usf, brsf, frsf ≤ m. Claim 2: "
            + "no step p → next p raises the error by more than m, and p=0 is worse than p=1 by more than m. "
            + "Claim 3: each of usf, brsf, frsf ≤ bp + m. Claim 4 (setting none): usf and brsf each diverge "
            + "(any seed) or end worse than bp by more than m and at 1.5× bp's error or more; inconclusive if bp "
            + "itself diverges there. A verdict resting on fewer than 3 seeds in any group it compares is marked "
            + "weak: with 2 seeds the seed spread, and so the margin, is poorly known.";

    private static final List<String> SIGN_CONCORDANT = List.of("usf", "brsf", "frsf");
    private static final List<String> STABILISED = List.of("bn", "bm", "bn+bm");

    private final Map<String, Group> groups;

    public Findings(Map<String, Group> groups) { this.groups = groups; }

    public List<Verdict> evaluate() {
        Set<String> pairs = new java.util.TreeSet<>();
        for (Group g : groups.values()) pairs.add(g.dataset() + "|" + g.model());
        List<Verdict> out = new ArrayList<>();
        for (int claim = 1; claim <= 4; claim++)
            for (String p : pairs) {
                String[] dm = p.split("\\|", 2);
                out.add(claim == 4 ? claim4(dm[0], dm[1]) : perSetting(claim, dm[0], dm[1]));
            }
        return out;
    }

    // ---------------------------------------------------------------- helpers

    private Group g(String d, String m, String f, String s) { return groups.get(Group.key(d, m, f, s)); }

    /** The group's error for comparisons: mean if usable, +∞ if diverged, null if missing or all failed. */
    static Double value(Group g) {
        if (g == null) return null;
        if (g.diverged()) return Double.POSITIVE_INFINITY;
        if (g.nOk() == 0) return null;
        return g.mean();
    }

    static double margin(Group... gs) {
        double var = 0, mean = 0;
        int nv = 0, nm = 0;
        for (Group g : gs) {
            if (g == null || !g.usable()) continue;
            double sd = g.sd();
            if (!Double.isNaN(sd)) { var += sd * sd; nv++; }
            mean += g.mean();
            nm++;
        }
        double s = nv == 0 ? 0 : Math.sqrt(var / nv);
        double e = nm == 0 ? 0 : mean / nm;
        return Math.max(2 * s, 0.10 * e);
    }

    static String fmt(Group g) {
        if (g == null) return "missing";
        if (g.diverged()) return "diverged (" + g.nDiverged() + "/" + g.n() + ")";
        // a grid still running has cells without an outcome yet: not the same news as a cell that failed
        if (g.nOk() == 0) return g.nFailed() > 0 ? "failed" : "unfinished";
        return String.format(Locale.ROOT, "%.2f", g.mean());
    }

    static String num(double v) { return String.format(Locale.ROOT, "%.2f", v); }

    /** psf levels present for (d, m, s), ordered by p, with frsf as p = 1 unless psf:1 is in the grid. */
    private TreeMap<Double, Group> signLadder(String d, String m, String s) {
        TreeMap<Double, Group> ladder = new TreeMap<>();
        for (Group g : groups.values()) {
            if (!g.dataset().equals(d) || !g.model().equals(m) || !g.stabiliser().equals(s)) continue;
            if (g.feedback().startsWith("psf:")) ladder.put(Double.parseDouble(g.feedback().substring(4)), g);
        }
        Group frsf = g(d, m, "frsf", s);
        if (frsf != null && !ladder.containsKey(1.0)) ladder.put(1.0, frsf);
        return ladder;
    }

    private record Check(Outcome outcome, String line, int seeds) {
        Check(Outcome outcome, String line) { this(outcome, line, Integer.MAX_VALUE); }
    }

    /** The fewest seeds with an outcome among the groups (missing ones ignored). */
    static int seeds(Group... gs) {
        int n = Integer.MAX_VALUE;
        for (Group g : gs) if (g != null) n = Math.min(n, g.nDecided());
        return n;
    }

    private Verdict perSetting(int claim, String d, String m) {
        List<String> lines = new ArrayList<>();
        int tested = 0, held = 0, seeds = Integer.MAX_VALUE;
        for (String s : STABILISED) {
            Check c = claim == 1 ? claim1(d, m, s) : claim == 2 ? claim2(d, m, s) : claim3(d, m, s);
            if (c == null) continue;
            lines.add(s + ": " + c.line());
            if (c.outcome() == Outcome.UNTESTED) continue;
            tested++;
            seeds = Math.min(seeds, c.seeds());
            if (c.outcome() == Outcome.HOLDS) held++;
        }
        Outcome o = tested == 0 ? Outcome.UNTESTED : held == tested ? Outcome.HOLDS
                : held == 0 ? Outcome.FAILS : Outcome.PARTLY;
        if (o == Outcome.PARTLY) lines.add(0, "holds in " + held + " of " + tested + " stabilised settings");
        return new Verdict(claim, d, m, o, lines, seeds);
    }

    private boolean settingPresent(String d, String m, String s) {
        for (Group g : groups.values())
            if (g.dataset().equals(d) && g.model().equals(m) && g.stabiliser().equals(s)) return true;
        return false;
    }

    private Check claim1(String d, String m, String s) {
        if (!settingPresent(d, m, s)) return null;
        Group[] gs = SIGN_CONCORDANT.stream().map(f -> g(d, m, f, s)).toArray(Group[]::new);
        String nums = "usf " + fmt(gs[0]) + ", brsf " + fmt(gs[1]) + ", frsf " + fmt(gs[2]);
        for (Group x : gs)
            if (value(x) == null) return new Check(Outcome.UNTESTED, nums + " — not tested (cells missing, unfinished or failed)");
        long div = java.util.Arrays.stream(gs).filter(Group::diverged).count();
        if (div == 3) return new Check(Outcome.FAILS, nums + " — all three diverged, nothing learnt → does not hold", seeds(gs));
        if (div > 0) return new Check(Outcome.FAILS, nums + " — some diverge and some learn → does not hold", seeds(gs));
        double lo = Double.MAX_VALUE, hi = -Double.MAX_VALUE;
        for (Group x : gs) { lo = Math.min(lo, x.mean()); hi = Math.max(hi, x.mean()); }
        double mg = margin(gs);
        boolean ok = hi - lo <= mg;
        return new Check(ok ? Outcome.HOLDS : Outcome.FAILS, nums + "; spread " + num(hi - lo)
                + (ok ? " ≤ " : " > ") + "margin " + num(mg) + " → " + (ok ? "holds" : "does not hold"), seeds(gs));
    }

    private Check claim2(String d, String m, String s) {
        if (!settingPresent(d, m, s)) return null;
        TreeMap<Double, Group> ladder = signLadder(d, m, s);
        StringBuilder nums = new StringBuilder();
        for (var e : ladder.entrySet()) {
            if (nums.length() > 0) nums.append(", ");
            String label = e.getValue().feedback().equals("frsf") ? "p=1 (frsf)" : "p=" + trim(e.getKey());
            nums.append(label).append(' ').append(fmt(e.getValue()));
        }
        if (ladder.size() < 3) return new Check(Outcome.UNTESTED, nums + " — fewer than 3 sign levels, not tested");
        for (Group x : ladder.values())
            if (value(x) == null) return new Check(Outcome.UNTESTED, nums + " — not tested (cells missing, unfinished or failed)");
        List<Double> ps = new ArrayList<>(ladder.keySet());
        List<String> problems = new ArrayList<>();
        for (int i = 0; i + 1 < ps.size(); i++) {
            Group a = ladder.get(ps.get(i)), b = ladder.get(ps.get(i + 1));
            double va = value(a), vb = value(b), mg = margin(a, b);
            if (vb > va + mg)
                problems.add("rises from p=" + trim(ps.get(i)) + " to p=" + trim(ps.get(i + 1)) + " by "
                        + (Double.isInfinite(vb) ? "diverging" : "more than the margin " + num(mg)));
        }
        Group first = ladder.firstEntry().getValue(), last = ladder.lastEntry().getValue();
        double drop = value(first) - value(last), mgEnds = margin(first, last);
        boolean fell = drop > mgEnds;
        if (!fell) problems.add("p=" + trim(ps.get(0)) + " is not worse than p=" + trim(ps.get(ps.size() - 1))
                + " by more than the margin " + num(mgEnds));
        boolean ok = problems.isEmpty();
        String dropText = Double.isInfinite(drop) ? "p=" + trim(ps.get(0)) + " diverged" :
                "drop p=" + trim(ps.get(0)) + "→" + trim(ps.get(ps.size() - 1)) + " " + num(drop);
        return new Check(ok ? Outcome.HOLDS : Outcome.FAILS, nums + "; " + dropText + "; "
                + (ok ? "monotone within margins → holds" : String.join("; ", problems) + " → does not hold"),
                seeds(ladder.values().toArray(new Group[0])));
    }

    private Check claim3(String d, String m, String s) {
        if (!settingPresent(d, m, s)) return null;
        Group bp = g(d, m, "bp", s);
        StringBuilder nums = new StringBuilder("bp " + fmt(bp));
        if (value(bp) == null) return new Check(Outcome.UNTESTED, nums + " — bp missing, not tested");
        List<String> worse = new ArrayList<>();
        int compared = 0, seeds = seeds(bp);
        for (String f : SIGN_CONCORDANT) {
            Group x = g(d, m, f, s);
            nums.append(", ").append(f).append(' ').append(fmt(x));
            if (value(x) == null) continue;
            compared++;
            seeds = Math.min(seeds, seeds(x));
            double mg = margin(bp, x);
            if (value(x) > value(bp) + mg) worse.add(f + (x.diverged() ? " diverged" : " worse by "
                    + num(value(x) - value(bp)) + " > margin " + num(mg)));
        }
        if (compared == 0) return new Check(Outcome.UNTESTED, nums + " — no sign-concordant cells, not tested");
        boolean ok = worse.isEmpty();
        return new Check(ok ? Outcome.HOLDS : Outcome.FAILS, nums + " → "
                + (ok ? "each within the margin of bp or better → holds" : String.join("; ", worse) + " → does not hold"),
                seeds);
    }

    private Verdict claim4(String d, String m) {
        List<String> lines = new ArrayList<>();
        Group bp = g(d, m, "bp", "none");
        if (!settingPresent(d, m, "none") || value(bp) == null) {
            lines.add("no plain-SGD (stabiliser none) cells with bp — not tested");
            return new Verdict(4, d, m, Outcome.UNTESTED, lines, 0);
        }
        int broke = 0, checked = 0, seeds = seeds(bp);
        StringBuilder sb = new StringBuilder("none: bp " + (bp.usable()
                ? String.format(Locale.ROOT, "%.2f", bp.mean()) : fmt(bp)));
        for (String f : List.of("usf", "brsf")) {
            Group x = g(d, m, f, "none");
            if (value(x) == null) { sb.append(", ").append(f).append(" missing"); continue; }
            checked++;
            seeds = Math.min(seeds, seeds(x));
            String best = bestStabilised(d, m, f);
            sb.append(", ").append(f).append(' ').append(fmt(x));
            if (best != null) sb.append(" (best stabilised ").append(best).append(')');
            boolean breaks = x.diverged() || (!bp.diverged()
                    && x.mean() > bp.mean() + margin(bp, x) && x.mean() >= 1.5 * bp.mean());
            if (breaks) broke++;
        }
        lines.add(sb.toString());
        if (checked == 0) return new Verdict(4, d, m, Outcome.UNTESTED, lines, 0);
        if (bp.diverged()) {
            lines.add("bp itself diverges without a stabiliser at this learning rate, so the test cannot separate the modes → inconclusive");
            return new Verdict(4, d, m, Outcome.INCONCLUSIVE, lines, seeds);
        }
        Outcome o = broke == checked && checked == 2 ? Outcome.HOLDS : broke == 0 ? Outcome.FAILS : Outcome.PARTLY;
        lines.add(broke + " of " + checked + " (usf, brsf) diverge or end much worse than bp while bp learns → " + o.text);
        return new Verdict(4, d, m, o, lines, seeds);
    }

    private String bestStabilised(String d, String m, String f) {
        Group best = null;
        for (String s : STABILISED) {
            Group x = g(d, m, f, s);
            if (x != null && x.usable() && (best == null || x.mean() < best.mean())) best = x;
        }
        return best == null ? null : String.format(Locale.ROOT, "%.2f with %s", best.mean(), best.stabiliser());
    }

    static String trim(double p) {
        String s = String.format(Locale.ROOT, "%.4f", p).replaceAll("0+$", "");
        return s.endsWith(".") ? s.substring(0, s.length() - 1) : s;
    }

    /** The findings as Markdown: the rule, then each claim with its verdict per dataset and the numbers. */
    public String markdown() {
        StringBuilder sb = new StringBuilder("## Findings: the paper's four claims against these numbers\n\n");
        Set<String> modes = new java.util.TreeSet<>(), stabs = new java.util.TreeSet<>();
        for (Group g : groups.values()) {
            modes.add(g.feedback());
            stabs.add(g.stabiliser());
        }
        List<Integer> skipped = new ArrayList<>();
        for (int c = 1; c <= 4; c++) if (!applicable(c, modes, stabs)) skipped.add(c);
        if (skipped.size() == 4)
            return sb.append("This grid tests none of them: they compare bp, usf, brsf, frsf and psf (claims 1–3 with a "
                            + "stabiliser, claim 4 without), and it runs ").append(String.join(", ", modes))
                    .append(" with ").append(String.join(", ", stabs)).append(".\n").toString();
        sb.append(RULE).append("\n\nNumbers are final test errors in percent, mean over seeds.\n");
        List<Verdict> vs = evaluate();
        for (int c = 1; c <= 4; c++) {
            if (skipped.contains(c)) continue;
            sb.append("\n### Claim ").append(c).append(": ").append(CLAIMS[c]).append("\n\n");
            for (Verdict v : vs) {
                if (v.claim() != c) continue;
                sb.append("- **").append(v.dataset()).append(", ").append(v.model()).append(": ")
                        .append(v.text()).append("**\n");
                for (String l : v.details()) sb.append("  - ").append(l).append('\n');
            }
        }
        if (!skipped.isEmpty())
            sb.append("\nNot tested here, the grid lacking the modes or stabilisers they compare: claim")
                    .append(skipped.size() == 1 ? " " : "s ")
                    .append(String.join(", ", skipped.stream().map(String::valueOf).toList())).append(".\n");
        return sb.toString();
    }

    /**
     * Whether the grid's modes and stabilisers let claim {@code c} be tested at all (whatever its cells'
     * outcomes): a grid of fa and dfa runs has nothing to say about the claims, and four sections of "not
     * tested" would bury that. Claims 1–3 are about stabilised settings, claim 4 about plain SGD.
     */
    static boolean applicable(int c, Set<String> modes, Set<String> stabs) {
        long concordant = SIGN_CONCORDANT.stream().filter(modes::contains).count();
        boolean stabilised = stabs.stream().anyMatch(STABILISED::contains);
        if (c == 4 ? !stabs.contains("none") : !stabilised) return false;
        return switch (c) {
            case 1 -> concordant >= 2;
            case 2 -> modes.stream().anyMatch(m -> m.startsWith("psf:"));
            case 3 -> modes.contains("bp") && concordant >= 1;
            default -> modes.contains("bp") && (modes.contains("usf") || modes.contains("brsf"));
        };
    }
}
