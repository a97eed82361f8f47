package asymbp.backend;

/** docs/spec.md §4: d = g + λθ (sgd) or sign(g) + λθ (bm); v ← μv + d (v ← d on the first step); θ ← θ − ηv. */
public enum UpdateRule {
    SGD, BM;
    public String cliName() { return name().toLowerCase(java.util.Locale.ROOT); }
}
