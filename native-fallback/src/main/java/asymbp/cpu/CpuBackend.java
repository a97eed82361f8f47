package asymbp.cpu;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.UpdateRule;

/**
 * The pure-Java backend: the fallback when no device opens, and the oracle the OpenCL and CUDA
 * kernels are tested against. Each op below is written as docs/spec.md states it; speed comes from a few
 * kernels, chosen once by {@link Kernels} (Vector API when jdk.incubator.vector is present, plain Java
 * otherwise, same results within float rounding):
 * <ul>
 *   <li>{@link Gemm}: blocked SGEMM around an 8×32 register tile ({@link MicroKernel}); operands are
 *       packing functions, so Wᵀ, gᵀ and V(W) cost nothing extra. y = x·Wᵀ, dW = gᵀ·x, dx = g·V;
 *       V is regenerated row by row while the B operand is packed ({@link FeedbackRow}, bit-exact with
 *       {@link Feedback#v}) and never stored.
 *   <li>Convolution: per image, the patch matrix ({@link Im2col}) times W; dW as dot products of
 *       padded rows ({@link DotKernel}); dx = col2im(Vᵀ·g).
 *   <li>{@link Parallel}: a parallel-for over rows, images or channels, serial when the work is tiny.
 * </ul>
 * Ops run synchronously on the caller's thread plus the backend's pool. One caller at a time: the
 * scratch buffers below are the backend's own.
 */
public final class CpuBackend implements Backend {

    private final Kernels kernels;
    private final Gemm gemm;
    private final Parallel par;

    // Reused scratch, grown on demand (no per-step allocation).
    private float[] masked = new float[0];
    /** Zeros standing in for W in the dfa projection: fa's V does not read W's value. Grow-only. */
    private float[] zeros = new float[0];
    private float[] packedV = new float[0];
    private float[][] partials = new float[0][];
    private double[] sums = new double[0];
    private final float[][] channelScratch = {new float[0], new float[0], new float[0], new float[0], new float[0]};

    /** The fastest kernels this JVM allows, on every core. */
    public CpuBackend() {
        this(Kernels.best(), Runtime.getRuntime().availableProcessors());
    }

    CpuBackend(Kernels kernels, int threads) {
        this.kernels = kernels;
        this.gemm = new Gemm(kernels.kernel, kernels.feedback);
        this.par = new Parallel(threads);
    }

    /** The plain-Java path regardless of the Vector API (tests compare it with the vector path). */
    static CpuBackend scalar(int threads) {
        return new CpuBackend(Kernels.scalar("forced"), threads);
    }

    @Override public String name() { return "cpu"; }

    @Override
    public String deviceName() {
        return "cpu: " + par.threads() + (par.threads() == 1 ? " thread, " : " threads, ") + kernels.description;
    }

    Parallel parallel() { return par; }

    // ================================================================ memory

    @Override
    public Buffer alloc(DType dtype, long length) {
        if (length < 0 || length > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("cpu backend: cannot allocate " + length + " elements of " + dtype
                    + " (a Java array holds at most 2^31−9)");
        return new CpuBuffer(new CpuBuffer.Storage(dtype, (int) length), dtype, 0, length);
    }

    @Override public void free(Buffer buffer) { cpu(buffer).storage.freed = true; }

    @Override public void upload(Buffer dst, float[] src) { System.arraycopy(src, 0, f(dst), off(dst), fits(dst, src.length)); }
    @Override public void upload(Buffer dst, int[] src) { System.arraycopy(src, 0, i(dst), off(dst), fits(dst, src.length)); }
    @Override public void upload(Buffer dst, byte[] src) { System.arraycopy(src, 0, cpu(dst).u8(), off(dst), fits(dst, src.length)); }
    @Override public void download(float[] dst, Buffer src) { System.arraycopy(f(src), off(src), dst, 0, fits(src, dst.length)); }
    @Override public void download(int[] dst, Buffer src) { System.arraycopy(i(src), off(src), dst, 0, fits(src, dst.length)); }

    @Override public void fill(Buffer dst, float value) { java.util.Arrays.fill(f(dst), off(dst), off(dst) + len(dst), value); }

    @Override
    public void copy(Buffer dst, Buffer src) {
        if (dst.dtype() != src.dtype() || dst.length() != src.length())
            throw new IllegalArgumentException("copy: " + src + " into " + dst + " (dtype and length must match)");
        CpuBuffer d = cpu(dst), s = cpu(src);
        switch (dst.dtype()) {
            case F32: System.arraycopy(s.f32(), s.off(), d.f32(), d.off(), d.len()); break;
            case I32: System.arraycopy(s.i32(), s.off(), d.i32(), d.off(), d.len()); break;
            default: System.arraycopy(s.u8(), s.off(), d.u8(), d.off(), d.len()); break;
        }
    }

    @Override public void sync() { /* every op has finished when it returns */ }

    @Override public void close() { par.close(); }

    // ================================================================ ops

    @Override
    public void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                                  Buffer meanInvStd, int start, int batch, int features, int plane) {
        need(x, (long) batch * features, "gatherStandardize x");
        need(labelsOut, batch, "gatherStandardize labelsOut");
        need(indices, (long) start + batch, "gatherStandardize indices (start " + start + " + batch " + batch + ")");
        if (plane < 1 || features % plane != 0)
            throw new IllegalArgumentException("gatherStandardize: features " + features + " is not a multiple of plane " + plane);
        int channels = features / plane;
        need(meanInvStd, 2L * channels, "gatherStandardize meanInvStd");
        float[] xs = f(x), stats = f(meanInvStd);
        byte[] img = cpu(images).u8();
        int[] lab = i(labels), idx = i(indices), labOut = i(labelsOut);
        int xo = off(x), so = off(meanInvStd), io = off(images), lo = off(labels), ixo = off(indices), loo = off(labelsOut);
        int count = len(labels);
        if ((long) count * features > len(images))
            throw new IllegalArgumentException("gatherStandardize: " + count + " labels but images hold " + len(images) + " bytes");
        for (int b = 0; b < batch; b++) {
            int n = idx[ixo + start + b];
            if (n < 0 || n >= count)
                throw new IllegalArgumentException("gatherStandardize: indices[" + (start + b) + "] = " + n
                        + " outside 0.." + (count - 1));
        }
        par.forRange(batch, 1, (long) batch * features, (b0, b1, t) -> {
            for (int b = b0; b < b1; b++) {
                int n = idx[ixo + start + b];
                labOut[loo + b] = lab[lo + n];
                int src = io + n * features, dst = xo + b * features;
                for (int c = 0; c < channels; c++) {
                    float mean = stats[so + c], invStd = stats[so + channels + c];
                    for (int q = c * plane; q < (c + 1) * plane; q++)
                        xs[dst + q] = ((img[src + q] & 0xff) / 255f - mean) * invStd;
                }
            }
        });
    }

    @Override
    public void linearForward(Buffer y, Buffer x, Buffer w, Buffer b, int batch, int in, int out, boolean relu) {
        need(y, (long) batch * out, "linearForward y");
        need(x, (long) batch * in, "linearForward x");
        need(w, (long) out * in, "linearForward w");
        if (b != null) need(b, out, "linearForward b");
        float[] ys = f(y);
        int yo = off(y);
        // y = x·Wᵀ: A = x (batch×in), B = Wᵀ (in×out)
        gemm.multiply(par, batch, out, in, Gemm.Strided.rowMajor(f(x), off(x), in),
                Gemm.Strided.transposed(f(w), off(w), in), ys, yo, out, false);
        if (b != null || relu) biasRelu(ys, yo, batch, out, 1, b == null ? null : f(b), b == null ? 0 : off(b), relu);
    }

    /** y[r][c][q] += bias[c], then max(0,·) if relu; y viewed as rows×channels×spatial. */
    private void biasRelu(float[] ys, int yo, int rows, int channels, int spatial, float[] bias, int bo, boolean relu) {
        par.forRange(rows, 1, (long) rows * channels * spatial, (r0, r1, t) -> {
            for (int r = r0; r < r1; r++)
                for (int c = 0; c < channels; c++) {
                    int at = yo + (r * channels + c) * spatial;
                    float add = bias == null ? 0f : bias[bo + c];
                    if (relu) for (int q = at; q < at + spatial; q++) ys[q] = Math.max(ys[q] + add, 0f);
                    else for (int q = at; q < at + spatial; q++) ys[q] += add;
                }
        });
    }

    @Override
    public void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer b, ConvShape s, boolean relu) {
        need(y, s.batch() * s.outSize(), "conv2dForward y");
        need(x, s.batch() * s.inSize(), "conv2dForward x");
        need(w, s.weightSize(), "conv2dForward w");
        if (b != null) need(b, s.outC(), "conv2dForward b");
        float[] ys = f(y), xs = f(x);
        int yo = off(y), xo = off(x);
        int p = s.outH() * s.outW(), ckk = (int) (s.weightSize() / s.outC());
        int inSize = (int) s.inSize(), outSize = (int) s.outSize();
        Im2col im = new Im2col(s);
        // Per image: y_b (outC×P) = W (outC×ckk) · col_b (ckk×P)
        Gemm.A wA = Gemm.Strided.rowMajor(f(w), off(w), ckk);
        if (s.batch() >= par.threads()) {
            // Each image's patch matrix is laid out once (long row runs), then packed like any dense matrix.
            par.forRange(s.batch(), 1, s.batch() * (long) outSize * ckk, (b0, b1, t) -> {
                Gemm.Scratch sc = gemm.scratch();
                float[] col = sc.work2(ckk * p);
                Gemm.B colB = Gemm.Strided.rowMajor(col, 0, p);
                for (int n = b0; n < b1; n++) {
                    im.materialize(xs, xo + n * inSize, col, p);
                    gemm.block(0, s.outC(), 0, p, ckk, wA, colB, ys, yo + n * outSize, p, false, sc);
                }
            });
        } else {
            for (int n = 0; n < s.batch(); n++)
                gemm.multiply(par, s.outC(), p, ckk, wA, im.patches(xs, xo + n * inSize), ys, yo + n * outSize, p, false);
        }
        if (b != null || relu) biasRelu(ys, yo, s.batch(), s.outC(), p, b == null ? null : f(b), b == null ? 0 : off(b), relu);
    }

    @Override
    public void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar,
                                 Buffer x, Buffer gamma, Buffer beta, int batch, int channels, int spatial,
                                 boolean training, float momentum, float eps, boolean relu) {
        long total = (long) batch * channels * spatial;
        need(y, total, "batchnormForward y");
        need(x, total, "batchnormForward x");
        for (Buffer v : new Buffer[] {runMean, runVar, gamma, beta}) need(v, channels, "batchnormForward per-channel");
        if (training) {
            need(saveMean, channels, "batchnormForward saveMean");
            need(saveInvStd, channels, "batchnormForward saveInvStd");
        }
        float[] ys = f(y), xs = f(x), rm = f(runMean), rv = f(runVar);
        int yo = off(y), xo = off(x), rmo = off(runMean), rvo = off(runVar);
        float[] mean = channelScratch(0, channels), invStd = channelScratch(1, channels), dev2 = channelScratch(2, channels);
        long n = (long) batch * spatial;
        par.forRange(channels, spatial == 1 ? 16 : 1, total, (c0, c1, t) -> {
            if (training) {
                // mean and biased variance of the batch; the running variance takes the unbiased one (PyTorch)
                kernels.batchNorm.moments(xs, xo, batch, channels, spatial, c0, c1, mean, dev2);
                for (int c = c0; c < c1; c++) {
                    float var = dev2[c] / n, unbiased = n > 1 ? dev2[c] / (n - 1) : var;
                    invStd[c] = (float) (1.0 / Math.sqrt(var + eps));
                    rm[rmo + c] = (1 - momentum) * rm[rmo + c] + momentum * mean[c];
                    rv[rvo + c] = (1 - momentum) * rv[rvo + c] + momentum * unbiased;
                }
            } else {
                for (int c = c0; c < c1; c++) {
                    mean[c] = rm[rmo + c];
                    invStd[c] = (float) (1.0 / Math.sqrt(rv[rvo + c] + eps));
                }
            }
            kernels.batchNorm.normalize(ys, yo, xs, xo, batch, channels, spatial, c0, c1, mean, invStd,
                    f(gamma), off(gamma), f(beta), off(beta), relu);
        });
        if (training) {
            System.arraycopy(mean, 0, f(saveMean), off(saveMean), channels);
            System.arraycopy(invStd, 0, f(saveInvStd), off(saveInvStd), channels);
        }
    }

    @Override
    public void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                                  Buffer saveMean, Buffer saveInvStd, Buffer gamma,
                                  int batch, int channels, int spatial) {
        long total = (long) batch * channels * spatial;
        need(dx, total, "batchnormBackward dx");
        need(dy, total, "batchnormBackward dy");
        need(x, total, "batchnormBackward x");
        if (y != null) need(y, total, "batchnormBackward y");
        for (Buffer v : new Buffer[] {dgamma, dbeta, saveMean, saveInvStd, gamma}) need(v, channels, "batchnormBackward per-channel");
        float[] ys = y == null ? null : f(y);
        int yo = y == null ? 0 : off(y);
        float[] mean = channelScratch(0, channels), invStd = channelScratch(1, channels);
        float[] sumG = channelScratch(2, channels), sumGXhat = channelScratch(3, channels), coefficient = channelScratch(4, channels);
        System.arraycopy(f(saveMean), off(saveMean), mean, 0, channels);
        System.arraycopy(f(saveInvStd), off(saveInvStd), invStd, 0, channels);
        par.forRange(channels, spatial == 1 ? 16 : 1, total, (c0, c1, t) -> {
            // dbeta = Σ g, dgamma = Σ g·xhat; then dx = gamma·invStd/n · (n·g − dbeta − xhat·dgamma)
            kernels.batchNorm.gradientSums(f(dy), off(dy), ys, yo, f(x), off(x), batch, channels, spatial, c0, c1,
                    mean, invStd, sumG, sumGXhat);
            kernels.batchNorm.inputGradient(f(dx), off(dx), f(dy), off(dy), ys, yo, f(x), off(x), batch, channels, spatial,
                    c0, c1, mean, invStd, f(gamma), off(gamma), sumG, sumGXhat, coefficient);
        });
        System.arraycopy(sumG, 0, f(dbeta), off(dbeta), channels);
        System.arraycopy(sumGXhat, 0, f(dgamma), off(dgamma), channels);
    }

    /** Per-channel scratch array number {@code which}, at least {@code channels} long (threads write disjoint ranges). */
    private float[] channelScratch(int which, int channels) {
        if (channelScratch[which].length < channels) channelScratch[which] = new float[Math.max(channels, 64)];
        return channelScratch[which];
    }

    @Override
    public void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k) {
        int oh = h / k, ow = w / k;
        long planes = (long) batch * channels;
        need(y, planes * oh * ow, "maxpoolForward y");
        need(argmax, planes * oh * ow, "maxpoolForward argmax");
        need(x, planes * h * w, "maxpoolForward x");
        float[] ys = f(y), xs = f(x);
        int[] am = i(argmax);
        int yo = off(y), xo = off(x), ao = off(argmax);
        PoolKernel pool = kernels.pool;
        // whole output rows to each chunk (the vector kernel overruns a row's end into the next row)
        par.forRange((int) (planes * oh), 1, planes * h * w / pool.inputsPerWork(k, w),
                (r0, r1, t) -> pool.forward(ys, yo, am, ao, xs, xo, h, w, k, oh, ow, r0 * ow, r1 * ow));
    }

    @Override
    public void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k) {
        int oh = h / k, ow = w / k;
        long planes = (long) batch * channels;
        need(dx, planes * h * w, "maxpoolBackward dx");
        need(dy, planes * oh * ow, "maxpoolBackward dy");
        need(argmax, planes * oh * ow, "maxpoolBackward argmax");
        float[] dxs = f(dx), dys = f(dy);
        int[] am = i(argmax);
        int dxo = off(dx), dyo = off(dy), ao = off(argmax);
        par.forRange((int) planes, 1, planes * h * w, (p0, p1, t) -> {
            java.util.Arrays.fill(dxs, dxo + p0 * h * w, dxo + p1 * h * w, 0f);
            for (int out = p0 * oh * ow; out < p1 * oh * ow; out++) dxs[dxo + am[ao + out]] = dys[dyo + out];
        });
    }

    @Override
    public void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes) {
        need(dlogits, (long) batch * classes, "softmaxCrossEntropy dlogits");
        need(stats, 2, "softmaxCrossEntropy stats");
        need(logits, (long) batch * classes, "softmaxCrossEntropy logits");
        need(labels, batch, "softmaxCrossEntropy labels");
        float[] d = f(dlogits), z = f(logits), st = f(stats);
        int[] lab = i(labels);
        int dOff = off(dlogits), zo = off(logits), lo = off(labels);
        double loss = 0;
        int wrong = 0;
        for (int b = 0; b < batch; b++) {
            int label = lab[lo + b];
            if (label < 0 || label >= classes)
                throw new IllegalArgumentException("softmaxCrossEntropy: labels[" + b + "] = " + label + " outside 0.." + (classes - 1));
            int row = zo + b * classes;
            int arg = 0;
            float max = z[row];
            for (int c = 1; c < classes; c++) if (z[row + c] > max) { max = z[row + c]; arg = c; }
            double sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.exp((double) z[row + c] - max);
            loss += Math.log(sum) - ((double) z[row + label] - max);   // −log softmax, shifted by the max
            if (arg != label) wrong++;
            for (int c = 0; c < classes; c++) {
                double prob = Math.exp((double) z[row + c] - max) / sum;
                d[dOff + b * classes + c] = (float) ((prob - (c == label ? 1 : 0)) / batch);
            }
        }
        st[off(stats)] = (float) loss;
        st[off(stats) + 1] = wrong;
    }

    @Override
    public void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, int batch, int in, int out) {
        if (dx != null) need(dx, (long) batch * in, "linearBackward dx");
        need(dw, (long) out * in, "linearBackward dw");
        if (db != null) need(db, out, "linearBackward db");
        need(dy, (long) batch * out, "linearBackward dy");
        if (y != null) need(y, (long) batch * out, "linearBackward y");
        need(x, (long) batch * in, "linearBackward x");
        need(w, (long) out * in, "linearBackward w");
        // g = dy·[y > 0] when ReLU was fused, else dy itself
        float[] g;
        int go;
        if (y != null) {
            g = reluMask(dy, y, batch * out);
            go = 0;
        } else {
            g = f(dy);
            go = off(dy);
        }
        // dW = gᵀ·x: A = gᵀ (out×batch), B = x (batch×in)
        gemm.multiply(par, out, in, batch, Gemm.Strided.transposed(g, go, out), Gemm.Strided.rowMajor(f(x), off(x), in),
                f(dw), off(dw), in, false);
        // db = Σ_batch g
        if (db != null) columnSums(f(db), off(db), g, go, batch, out, 1);
        // dx = g·V: A = g (batch×out), B = V(W) (out×in), regenerated while packing
        if (dx != null)
            gemm.multiply(par, batch, in, out, Gemm.Strided.rowMajor(g, go, out), new Gemm.FeedbackB(fb, f(w), off(w), in),
                    f(dx), off(dx), in, false);
    }

    @Override
    public void feedbackProject(Buffer dx, Buffer e, Feedback fb, int batch, int classes, int features) {
        fb.requireFa("feedbackProject");
        need(dx, (long) batch * features, "feedbackProject dx");
        need(e, (long) batch * classes, "feedbackProject e");
        if (zeros.length < classes * features) zeros = new float[classes * features];
        // dx = e·B: A = e (batch×classes), B = V over a classes×features matrix, regenerated while packing
        gemm.multiply(par, batch, features, classes, Gemm.Strided.rowMajor(f(e), off(e), classes),
                new Gemm.FeedbackB(fb, zeros, 0, features), f(dx), off(dx), features, false);
    }

    /** dy·[y &gt; 0] into the reused scratch {@code masked}. */
    private float[] reluMask(Buffer dy, Buffer y, int n) {
        if (masked.length < n) masked = new float[n];
        float[] m = masked, dys = f(dy), ys = f(y);
        int dyo = off(dy), yo = off(y);
        par.forRange(n, 1024, n, (lo, hi, t) -> {
            for (int q = lo; q < hi; q++) m[q] = Branchless.gate(dys[dyo + q], ys[yo + q]);
        });
        return m;
    }

    /** out[c] = Σ_r Σ_q g[r][c][q] over rows×channels×spatial, accumulated in double. */
    private void columnSums(float[] out, int outOff, float[] g, int go, int rows, int channels, int spatial) {
        if (sums.length < channels) sums = new double[channels];
        double[] acc = sums;
        java.util.Arrays.fill(acc, 0, channels, 0.0);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < channels; c++) {
                int at = go + (r * channels + c) * spatial;
                double s = 0;
                for (int q = at; q < at + spatial; q++) s += g[q];
                acc[c] += s;
            }
        for (int c = 0; c < channels; c++) out[outOff + c] = (float) acc[c];
    }

    @Override
    public void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, ConvShape s) {
        int batch = s.batch(), outC = s.outC(), inC = s.inC();
        int p = s.outH() * s.outW(), ckk = (int) (s.weightSize() / outC);
        int inSize = (int) s.inSize(), outSize = (int) s.outSize();
        if (dx != null) need(dx, batch * s.inSize(), "conv2dBackward dx");
        need(dw, s.weightSize(), "conv2dBackward dw");
        if (db != null) need(db, outC, "conv2dBackward db");
        need(dy, batch * s.outSize(), "conv2dBackward dy");
        if (y != null) need(y, batch * s.outSize(), "conv2dBackward y");
        need(x, batch * s.inSize(), "conv2dBackward x");
        need(w, s.weightSize(), "conv2dBackward w");
        float[] g;
        int go;
        if (y != null) {
            g = reluMask(dy, y, batch * outSize);
            go = 0;
        } else {
            g = f(dy);
            go = off(dy);
        }
        float[] xs = f(x);
        int xo = off(x);
        Im2col im = new Im2col(s);

        // db = Σ over batch and space of g
        if (db != null) columnSums(f(db), off(db), g, go, batch, outC, p);

        // dW = Σ_b g_b (outC×P) · col_bᵀ (P×ckk): per image the patch matrix is laid out once and every
        // dW element is a dot product of two contiguous rows; each thread sums its images into a partial.
        int wsize = outC * ckk;
        ensurePartials(par.threads() * Parallel.CHUNKS_PER_THREAD, wsize);
        float[][] part = partials;
        DotKernel dot = kernels.dot;
        int ld = (p + 15) & ~15;   // rows padded with zeros to whole 16-float vectors: no ragged tails
        int chunks = par.forRange(batch, 1, (long) batch * wsize * p, (b0, b1, t) -> {
            float[] col = gemm.scratch().work2(ckk * ld + outC * ld);
            int gAt = ckk * ld;
            java.util.Arrays.fill(part[t], 0, wsize, 0f);
            for (int n = b0; n < b1; n++) {
                im.materialize(xs, xo + n * inSize, col, ld);
                for (int o = 0; o < outC; o++) {
                    System.arraycopy(g, go + n * outSize + o * p, col, gAt + o * ld, p);
                    java.util.Arrays.fill(col, gAt + o * ld + p, gAt + (o + 1) * ld, 0f);
                }
                dot.abt(outC, ckk, ld, col, gAt, ld, col, 0, ld, part[t], 0, ckk);
            }
        });
        float[] dws = f(dw);
        int dwo = off(dw);
        for (int q = 0; q < wsize; q++) {
            float sum = part[0][q];
            for (int t = 1; t < chunks; t++) sum += part[t][q];
            dws[dwo + q] = sum;
        }

        // dx_b = col2im(colGrad_b), colGrad_b (ckk×P) = Vᵀ (ckk×outC) · g_b (outC×P). V is small (one conv
        // weight), so it is regenerated once per call, row by row as the linear layers do, into scratch
        // that every image's packing reads.
        if (dx != null) {
            if (packedV.length < wsize) packedV = new float[wsize];
            float[] v = packedV, ws = f(w);
            int wo = off(w);
            FeedbackRow gen = gemm.scratch().feedback;
            for (int o = 0; o < outC; o++) gen.fill(fb, ws, wo + o * ckk, (long) o * ckk, ckk, v, o * ckk);
            Gemm.A vT = Gemm.Strided.transposed(v, 0, ckk);
            float[] dxs = f(dx);
            int dxo = off(dx);
            par.forRange(batch, 1, (long) batch * wsize * p, (b0, b1, t) -> {
                Gemm.Scratch sc = gemm.scratch();
                float[] colGrad = sc.work(ckk * p);
                for (int n = b0; n < b1; n++) {
                    gemm.block(0, ckk, 0, p, outC, vT, Gemm.Strided.rowMajor(g, go + n * outSize, p), colGrad, 0, p, false, sc);
                    im.col2im(colGrad, dxs, dxo + n * inSize, inC);
                }
            });
        }
    }

    private void ensurePartials(int count, int size) {
        if (partials.length < count) partials = java.util.Arrays.copyOf(partials, count);
        for (int t = 0; t < count; t++)
            if (partials[t] == null || partials[t].length < size) partials[t] = new float[size];
    }

    @Override
    public void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule,
                            float lr, float momentum, float weightDecay, boolean firstStep) {
        int n = len(params);
        need(velocity, n, "applyUpdate velocity");
        need(grads, n, "applyUpdate grads");
        float[] th = f(params), v = f(velocity), g = f(grads);
        int tho = off(params), vo = off(velocity), go = off(grads);
        boolean manhattan = rule == UpdateRule.BM;
        UpdateKernel update = kernels.update;
        par.forRange(n, 1024, n, (lo, hi, t) ->
                update.apply(th, tho, v, vo, g, go, lo, hi, manhattan, lr, momentum, weightDecay, firstStep));
    }

    // ================================================================ helpers

    private static CpuBuffer cpu(Buffer b) {
        if (!(b instanceof CpuBuffer)) throw new IllegalArgumentException("not a cpu buffer: " + b);
        return (CpuBuffer) b;
    }

    private static float[] f(Buffer b) { return cpu(b).f32(); }
    private static int[] i(Buffer b) { return cpu(b).i32(); }
    private static int off(Buffer b) { return cpu(b).off(); }
    private static int len(Buffer b) { return cpu(b).len(); }

    private static void need(Buffer b, long n, String what) {
        if (b == null) throw new IllegalArgumentException(what + ": buffer is null");
        if (b.length() < n) throw new IllegalArgumentException(what + ": view " + b + " holds " + b.length() + " elements, needs " + n);
    }

    private static int fits(Buffer view, int arrayLength) {
        if (arrayLength > view.length())
            throw new IllegalArgumentException("transfer of " + arrayLength + " elements does not fit view " + view);
        return arrayLength;
    }
}
