package asymbp.grid;

import java.util.function.Consumer;

/** Trains one cell. The real one drives the engine's Trainer; tests use fakes. */
public interface CellRunner extends AutoCloseable {
    /**
     * Runs {@code cell} to the end or to divergence. A diverged run is a result (status diverged), not
     * an exception; anything thrown is recorded by the grid as the cell's failure.
     */
    CellResult run(CellSpec cell, Consumer<String> log) throws Exception;

    @Override default void close() {}
}
