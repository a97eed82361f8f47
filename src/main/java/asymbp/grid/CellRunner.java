package asymbp.grid;

import java.nio.file.Path;
import java.util.function.Consumer;

/** Trains one cell. The real one drives the engine's Trainer; tests use fakes. */
public interface CellRunner extends AutoCloseable {
    /**
     * Runs {@code cell} to the end or to divergence. A diverged run is a result (status diverged), not
     * an exception; anything thrown is recorded by the grid as the cell's failure.
     */
    CellResult run(CellSpec cell, Consumer<String> log) throws Exception;

    /**
     * As {@link #run(CellSpec, Consumer)}, keeping what a resume needs (checkpoints) in {@code work}: a
     * cell that was killed continues from there. Runners that cannot resume ignore it.
     */
    default CellResult run(CellSpec cell, Path work, Consumer<String> log) throws Exception {
        return run(cell, log);
    }

    @Override default void close() {}
}
