package asymbp.grid;

import java.util.ArrayList;
import java.util.List;

/** Small made-up results for tests: a cell with a given final error, or diverged. */
final class Synthetic {
    private Synthetic() {}

    static CellSpec cell(String dataset, String feedback, String stab, long seed) {
        return new CellSpec(dataset, "lenet", feedback, stab, seed, 2, 64, 0.01, 0.9, 0, List.of(), 0.1, 1000,
                "cpu", 0);
    }

    static CellResult ok(CellSpec c, double testError) {
        List<CellResult.EpochRecord> ep = new ArrayList<>();
        List<CellResult.TracePoint> tr = new ArrayList<>();
        List<CellResult.Alignment> al = new ArrayList<>();
        for (int e = 0; e <= c.epochs(); e++) {
            if (e > 0) ep.add(new CellResult.EpochRecord(e, 0.5 / e, testError * 1.1 / e, testError * (1 + 0.5 * (c.epochs() - e)),
                    c.lr(), 1.0));
            for (int l = 0; l < 3; l++)
                al.add(new CellResult.Alignment(e, l, "layer" + l, c.feedback().equals("bp") ? 0 : 60 - 5 * e + l,
                        c.feedback().equals("bp") ? 0 : 70 - 6 * e + l));
        }
        for (int i = 1; i <= 20; i++) tr.add(new CellResult.TracePoint(i * c.epochs() / 20.0, 2.3 / (1 + i)));
        return new CellResult(c, CellResult.OK, null, testError, ep, tr, al, 3.5, "cpu: test", "now");
    }

    static CellResult diverged(CellSpec c) {
        return new CellResult(c, CellResult.DIVERGED, "loss NaN at epoch 1 step 12", null, List.of(),
                List.of(new CellResult.TracePoint(0.1, 5.0)), List.of(), 0.7, "cpu: test", "now");
    }
}
