package asymbp.grid;

import asymbp.train.TrainConfig;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class TrainerCellRunnerTest {

    private static CellSpec cell(String stab) {
        return new CellSpec("fashion-mnist", "lenet", "psf:0.25", stab, 7, 3, 32, 3e-4, 0.8, 1e-3, List.of(2),
                0.5, 1234, "cpu", 1);
    }

    @Test
    void stabiliserMapsToBnAndUpdateRule() {
        String[][] expect = {{"none", "false", "sgd"}, {"bn", "true", "sgd"}, {"bm", "false", "bm"}, {"bn+bm", "true", "bm"}};
        for (String[] e : expect) {
            TrainConfig c = TrainerCellRunner.config(cell(e[0]));
            assertEquals(Boolean.parseBoolean(e[1]), c.bn(), e[0]);
            assertEquals(e[2], c.update(), e[0]);
        }
    }

    @Test
    void everyHyperparameterReachesTheTrainConfig() {
        TrainConfig c = TrainerCellRunner.config(cell("bn+bm"));
        assertEquals("fashion-mnist", c.dataset());
        assertEquals("lenet", c.model());
        assertEquals("psf:0.25", c.feedback());
        assertEquals(7, c.seed());
        assertEquals(3, c.epochs());
        assertEquals(32, c.batch());
        assertEquals(3e-4, c.lr(), 0);
        assertEquals(0.8, c.momentum(), 0);
        assertEquals(1e-3, c.weightDecay(), 0);
        assertEquals(List.of(2), c.lrSteps());
        assertEquals(0.5, c.lrFactor(), 0);
        assertEquals(1234, c.limit());
        assertEquals("cpu", c.backend());
        assertEquals(1, c.device());
        assertEquals(3e-4 * 0.5, c.lrAt(2), 1e-15, "lr divided after epoch 2");
    }

    @Test
    void anAssignedGpuDoesNotMoveACpuCell() throws Exception {
        CellSpec c = new CellSpec("mnist", "mlp:16", "bp", "bn", 1, 1, 32, 0.05, 0.9, 0, List.of(), 0.1, 320, "cpu", 0);
        try (TrainerCellRunner r = new TrainerCellRunner(new java.util.concurrent.ConcurrentHashMap<>(), 3)) {
            CellResult res = r.run(c, line -> {});
            assertTrue(res.ok(), res.toString());
        }
    }

    @Test
    void unknownStabiliserIsRefusedWithItsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> TrainerCellRunner.config(cell("bx")));
        assertTrue(e.getMessage().contains("'bx'"), e.getMessage());
    }
}
