package asymbp.cpu;

import asymbp.rng.Philox;

/**
 * Bulk Philox-4x32-10 under the project's counter layout ({@link Philox}): the blocks of {@code n}
 * consecutive element indices at once. This class is the scalar version; {@link VectorPhiloxWords}
 * computes the same words eight lanes at a time.
 */
class PhiloxWords {

    /**
     * For j &lt; n: the block of index0 + j; word k goes to wk[j]. w1, w2, w3 may be null together
     * (only word 0 wanted).
     */
    void words(long seed, int purpose, int layer, int step, long index0, int n,
               int[] w0, int[] w1, int[] w2, int[] w3) {
        scalarWords(seed, purpose, layer, step, index0, 0, n, w0, w1, w2, w3);
    }

    /** The scalar generator on [from, n): also the vector version's tail. */
    static void scalarWords(long seed, int purpose, int layer, int step, long index0, int from, int n,
                            int[] w0, int[] w1, int[] w2, int[] w3) {
        int[] block = new int[4];
        for (int j = from; j < n; j++) {
            Philox.block(seed, purpose, layer, step, index0 + j, block);
            w0[j] = block[0];
            if (w1 != null) { w1[j] = block[1]; w2[j] = block[2]; w3[j] = block[3]; }
        }
    }

    String describe() { return "scalar Philox"; }
}
