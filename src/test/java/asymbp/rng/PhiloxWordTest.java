package asymbp.rng;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The shuffle's integer draw is word 0 of the element's block, the same word uniform() scales: all
 * three views of one counter agree, and the word changes with every counter field.
 */
class PhiloxWordTest {
    @Test
    void wordIsWordZeroOfTheBlock() {
        long seed = Long.getLong("asymbp.seed", System.nanoTime());
        System.out.println("PhiloxWordTest: seed " + seed + " (replay with -Dasymbp.seed=" + seed + ")");
        SplittableRandom r = new SplittableRandom(seed);
        int[] block = new int[4];
        int distinct = 0;
        for (int t = 0; t < 200; t++) {
            long s = r.nextLong(), index = r.nextLong() >>> r.nextInt(64);
            int layer = r.nextInt(1 << 24), step = r.nextInt();
            int word = Philox.word(s, Philox.PURPOSE_SHUFFLE, layer, step, index);
            Philox.block(s, Philox.PURPOSE_SHUFFLE, layer, step, index, block);
            assertEquals(block[0], word, "word 0 of the block");
            assertEquals((word >>> 8) * Philox.UNIT, Philox.uniform(s, Philox.PURPOSE_SHUFFLE, layer, step, index), 0f);
            if (word != 0) distinct++;
            assertNotEquals(word, Philox.word(s, Philox.PURPOSE_SHUFFLE, layer, step, index + 1), "next index");
        }
        assertEquals(200, distinct, "a zero word in 200 draws (p ≈ 5e-8) means the draw is not happening");
    }
}
