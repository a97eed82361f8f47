package asymbp.cpu;

/**
 * docs/spec.md §4 over a range of a flat parameter buffer: d = g + λθ (sgd) or sign(g) + λθ (bm); v ← d on the
 * first step, else μ·v + d; θ ← θ − η·v. Plain Java (the fallback and the reference for
 * {@link VectorUpdateKernel}); two roundings per a·b+c, as every backend.
 */
class UpdateKernel {

    void apply(float[] th, int tho, float[] v, int vo, float[] g, int go, int lo, int hi, boolean manhattan,
               float lr, float momentum, float weightDecay, boolean firstStep) {
        for (int q = lo; q < hi; q++) {
            float gq = g[go + q];
            float d = (manhattan ? Branchless.sign(gq) : gq) + weightDecay * th[tho + q];
            float vq = firstStep ? d : momentum * v[vo + q] + d;
            v[vo + q] = vq;
            th[tho + q] = th[tho + q] - lr * vq;
        }
    }
}
