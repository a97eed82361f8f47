package asymbp.cpu;

/**
 * The innermost SGEMM tile: C[MR×NR] = (or +=) A·B over kc, with A packed k-major in MR-row panels
 * (a[aOff + k·MR + r]) and B packed k-major in NR-column panels (b[bOff + k·NR + j]).
 * Every implementation uses the same packing, so the scalar and vector paths are interchangeable.
 */
interface MicroKernel {
    int MR = 8;
    int NR = 32;

    void tile(int kc, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int ldc, boolean accumulate);

    /** Short description for the device line. */
    String describe();
}
