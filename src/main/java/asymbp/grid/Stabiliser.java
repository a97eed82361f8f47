package asymbp.grid;

import asymbp.backend.UpdateRule;

/**
 * What keeps asymmetric feedback from blowing up (docs/spec.md §1, finding 4): Batch Normalization, the Batch
 * Manhattan update, both, or neither (plain SGD without BN).
 */
public enum Stabiliser {
    NONE("none", false, UpdateRule.SGD),
    BN("bn", true, UpdateRule.SGD),
    BM("bm", false, UpdateRule.BM),
    BN_BM("bn+bm", true, UpdateRule.BM);

    public final String key;
    public final boolean bn;
    public final UpdateRule update;

    Stabiliser(String key, boolean bn, UpdateRule update) {
        this.key = key;
        this.bn = bn;
        this.update = update;
    }

    public static final String KEYS = "none, bn, bm, bn+bm";

    /** The stabiliser named {@code key}, or null. */
    public static Stabiliser parse(String key) {
        for (Stabiliser s : values()) if (s.key.equals(key)) return s;
        return null;
    }

    @Override public String toString() { return key; }
}
