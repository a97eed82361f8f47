package asymbp.train;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.UpdateRule;

import java.util.Arrays;

/**
 * A plain-loop backend written straight from the Backend javadoc and docs/spec.md (sums in double), so the
 * engine's tests do not depend on any optimised backend. Slow: for tiny nets only.
 */
public final class ReferenceBackend implements Backend {

    static final class Ref extends Buffer {
        final Object data;
        Ref(DType t, Object data, long off, long len) { super(t, off, len); this.data = data; }
        @Override protected Buffer view(long off, long len) { return new Ref(dtype(), data, off, len); }
        float[] f() { return (float[]) data; }
        int[] i() { return (int[]) data; }
        byte[] b() { return (byte[]) data; }
        int o() { return (int) offset(); }
    }

    private static Ref r(Buffer b) { return (Ref) b; }

    @Override public String name() { return "reference"; }
    @Override public String deviceName() { return "plain Java loops (test reference)"; }

    @Override public Buffer alloc(DType t, long n) {
        Object d = switch (t) { case F32 -> new float[(int) n]; case I32 -> new int[(int) n]; case U8 -> new byte[(int) n]; };
        return new Ref(t, d, 0, n);
    }
    @Override public void free(Buffer b) {}
    @Override public void upload(Buffer d, float[] s) { System.arraycopy(s, 0, r(d).f(), r(d).o(), (int) d.length()); }
    @Override public void upload(Buffer d, int[] s) { System.arraycopy(s, 0, r(d).i(), r(d).o(), (int) d.length()); }
    @Override public void upload(Buffer d, byte[] s) { System.arraycopy(s, 0, r(d).b(), r(d).o(), (int) d.length()); }
    @Override public void download(float[] d, Buffer s) { System.arraycopy(r(s).f(), r(s).o(), d, 0, (int) s.length()); }
    @Override public void download(int[] d, Buffer s) { System.arraycopy(r(s).i(), r(s).o(), d, 0, (int) s.length()); }
    @Override public void fill(Buffer d, float v) { Arrays.fill(r(d).f(), r(d).o(), r(d).o() + (int) d.length(), v); }
    @Override public void copy(Buffer d, Buffer s) { System.arraycopy(r(s).data, r(s).o(), r(d).data, r(d).o(), (int) s.length()); }
    @Override public void sync() {}
    @Override public void close() {}

    @Override
    public void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                                  Buffer meanInvStd, int start, int batch, int features, int plane) {
        float[] X = r(x).f(), M = r(meanInvStd).f();
        int C = features / plane;
        for (int b = 0; b < batch; b++) {
            int n = r(indices).i()[r(indices).o() + start + b];
            for (int f = 0; f < features; f++) {
                int c = f / plane;
                float px = (r(images).b()[r(images).o() + n * features + f] & 0xff) / 255f;
                X[r(x).o() + b * features + f] = (px - M[r(meanInvStd).o() + c]) * M[r(meanInvStd).o() + C + c];
            }
            r(labelsOut).i()[r(labelsOut).o() + b] = r(labels).i()[r(labels).o() + n];
        }
    }

    @Override
    public void linearForward(Buffer y, Buffer x, Buffer w, Buffer bias, int batch, int in, int out, boolean relu) {
        for (int b = 0; b < batch; b++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : r(bias).f()[r(bias).o() + o];
                for (int i = 0; i < in; i++)
                    s += (double) r(x).f()[r(x).o() + b * in + i] * r(w).f()[r(w).o() + o * in + i];
                float v = (float) s;
                r(y).f()[r(y).o() + b * out + o] = relu ? Math.max(0f, v) : v;
            }
    }

    @Override
    public void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer bias, ConvShape s, boolean relu) {
        int oh = s.outH(), ow = s.outW();
        for (int b = 0; b < s.batch(); b++)
            for (int o = 0; o < s.outC(); o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        double acc = bias == null ? 0 : r(bias).f()[r(bias).o() + o];
                        for (int c = 0; c < s.inC(); c++)
                            for (int ky = 0; ky < s.kh(); ky++)
                                for (int kx = 0; kx < s.kw(); kx++) {
                                    int iy = oy * s.stride() - s.pad() + ky, ix = ox * s.stride() - s.pad() + kx;
                                    if (iy < 0 || iy >= s.inH() || ix < 0 || ix >= s.inW()) continue;
                                    acc += (double) r(x).f()[r(x).o() + ((b * s.inC() + c) * s.inH() + iy) * s.inW() + ix]
                                            * r(w).f()[r(w).o() + ((o * s.inC() + c) * s.kh() + ky) * s.kw() + kx];
                                }
                        float v = (float) acc;
                        r(y).f()[r(y).o() + ((b * s.outC() + o) * oh + oy) * ow + ox] = relu ? Math.max(0f, v) : v;
                    }
    }

    private static int at(int b, int c, int sp, int channels, int spatial) { return (b * channels + c) * spatial + sp; }

    @Override
    public void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar, Buffer x,
                                 Buffer gamma, Buffer beta, int batch, int channels, int spatial, boolean training,
                                 float momentum, float eps, boolean relu) {
        int n = batch * spatial;
        for (int c = 0; c < channels; c++) {
            float mean, invStd;
            if (training) {
                double s = 0;
                for (int b = 0; b < batch; b++) for (int p = 0; p < spatial; p++) s += r(x).f()[r(x).o() + at(b, c, p, channels, spatial)];
                double m = s / n, v = 0;
                for (int b = 0; b < batch; b++) for (int p = 0; p < spatial; p++) {
                    double d = r(x).f()[r(x).o() + at(b, c, p, channels, spatial)] - m;
                    v += d * d;
                }
                v /= n;
                mean = (float) m;
                invStd = (float) (1.0 / Math.sqrt(v + eps));
                r(saveMean).f()[r(saveMean).o() + c] = mean;
                r(saveInvStd).f()[r(saveInvStd).o() + c] = invStd;
                float[] rm = r(runMean).f(), rv = r(runVar).f();
                rm[r(runMean).o() + c] = (1 - momentum) * rm[r(runMean).o() + c] + momentum * mean;
                rv[r(runVar).o() + c] = (1 - momentum) * rv[r(runVar).o() + c] + momentum * (float) (v * n / (n - 1));
            } else {
                mean = r(runMean).f()[r(runMean).o() + c];
                invStd = (float) (1.0 / Math.sqrt(r(runVar).f()[r(runVar).o() + c] + eps));
            }
            float g = r(gamma).f()[r(gamma).o() + c], be = r(beta).f()[r(beta).o() + c];
            for (int b = 0; b < batch; b++) for (int p = 0; p < spatial; p++) {
                int i = at(b, c, p, channels, spatial);
                float v = g * ((r(x).f()[r(x).o() + i] - mean) * invStd) + be;
                r(y).f()[r(y).o() + i] = relu ? Math.max(0f, v) : v;
            }
        }
    }

    @Override
    public void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                                  Buffer saveMean, Buffer saveInvStd, Buffer gamma, int batch, int channels, int spatial) {
        int n = batch * spatial;
        for (int c = 0; c < channels; c++) {
            float mean = r(saveMean).f()[r(saveMean).o() + c], inv = r(saveInvStd).f()[r(saveInvStd).o() + c];
            double sb = 0, sg = 0;
            for (int b = 0; b < batch; b++) for (int p = 0; p < spatial; p++) {
                int i = at(b, c, p, channels, spatial);
                double g = grad(dy, y, i);
                sb += g;
                sg += g * (r(x).f()[r(x).o() + i] - mean) * inv;
            }
            r(dbeta).f()[r(dbeta).o() + c] = (float) sb;
            r(dgamma).f()[r(dgamma).o() + c] = (float) sg;
            float gm = r(gamma).f()[r(gamma).o() + c];
            for (int b = 0; b < batch; b++) for (int p = 0; p < spatial; p++) {
                int i = at(b, c, p, channels, spatial);
                double xhat = (r(x).f()[r(x).o() + i] - mean) * inv;
                r(dx).f()[r(dx).o() + i] = (float) ((double) gm * inv / n * (n * grad(dy, y, i) - sb - xhat * sg));
            }
        }
    }

    private static double grad(Buffer dy, Buffer y, int i) {
        float g = r(dy).f()[r(dy).o() + i];
        return y == null || r(y).f()[r(y).o() + i] > 0 ? g : 0;
    }

    @Override
    public void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k) {
        int oh = h / k, ow = w / k;
        for (int bc = 0; bc < batch * channels; bc++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++) {
                    int best = -1;
                    float bv = 0;
                    for (int dy = 0; dy < k; dy++)
                        for (int dx = 0; dx < k; dx++) {
                            int i = (bc * h + oy * k + dy) * w + ox * k + dx;
                            float v = r(x).f()[r(x).o() + i];
                            if (best < 0 || v > bv) { best = i; bv = v; }
                        }
                    int o = (bc * oh + oy) * ow + ox;
                    r(y).f()[r(y).o() + o] = bv;
                    r(argmax).i()[r(argmax).o() + o] = best;
                }
    }

    @Override
    public void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k) {
        fill(dx, 0f);
        for (int o = 0; o < dy.length(); o++)
            r(dx).f()[r(dx).o() + r(argmax).i()[r(argmax).o() + o]] = r(dy).f()[r(dy).o() + o];
    }

    @Override
    public void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes) {
        double loss = 0;
        int wrong = 0;
        for (int b = 0; b < batch; b++) {
            int base = r(logits).o() + b * classes, lab = r(labels).i()[r(labels).o() + b];
            float[] L = r(logits).f();
            int arg = 0;
            for (int c = 1; c < classes; c++) if (L[base + c] > L[base + arg]) arg = c;
            double max = L[base + arg], sum = 0;
            for (int c = 0; c < classes; c++) sum += Math.exp(L[base + c] - max);
            double lse = max + Math.log(sum);
            loss += lse - L[base + lab];
            if (arg != lab) wrong++;
            for (int c = 0; c < classes; c++)
                r(dlogits).f()[r(dlogits).o() + b * classes + c] =
                        (float) ((Math.exp(L[base + c] - lse) - (c == lab ? 1 : 0)) / batch);
        }
        r(stats).f()[r(stats).o()] = (float) loss;
        r(stats).f()[r(stats).o() + 1] = wrong;
    }

    private static float[] feedbackMatrix(Buffer w, Feedback fb) {
        float[] v = new float[(int) w.length()];
        for (int i = 0; i < v.length; i++) v[i] = fb.v(r(w).f()[r(w).o() + i], i);
        return v;
    }

    @Override
    public void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, int batch, int in, int out) {
        float[] g = new float[batch * out];
        for (int i = 0; i < g.length; i++) g[i] = (float) grad(dy, y, i);
        for (int o = 0; o < out; o++) {
            double sb = 0;
            for (int b = 0; b < batch; b++) sb += g[b * out + o];
            if (db != null) r(db).f()[r(db).o() + o] = (float) sb;
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int b = 0; b < batch; b++) s += (double) g[b * out + o] * r(x).f()[r(x).o() + b * in + i];
                r(dw).f()[r(dw).o() + o * in + i] = (float) s;
            }
        }
        if (dx == null) return;
        float[] v = feedbackMatrix(w, fb);
        product(dx, g, v, batch, in, out);
    }

    @Override
    public void feedbackProject(Buffer dx, Buffer e, Feedback fb, int batch, int classes, int features) {
        float[] v = new float[classes * features];
        for (int i = 0; i < v.length; i++) v[i] = fb.v(0f, i);
        float[] g = new float[batch * classes];
        System.arraycopy(r(e).f(), r(e).o(), g, 0, g.length);
        product(dx, g, v, batch, features, classes);
    }

    /** dx = g·v in double: g batch×out, v out×in. */
    private void product(Buffer dx, float[] g, float[] v, int batch, int in, int out) {
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < in; i++) {
                double s = 0;
                for (int o = 0; o < out; o++) s += (double) g[b * out + o] * v[o * in + i];
                r(dx).f()[r(dx).o() + b * in + i] = (float) s;
            }
    }

    @Override
    public void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, ConvShape s) {
        int oh = s.outH(), ow = s.outW();
        float[] g = new float[(int) dy.length()];
        for (int i = 0; i < g.length; i++) g[i] = (float) grad(dy, y, i);
        float[] v = feedbackMatrix(w, fb);
        double[] dW = new double[(int) s.weightSize()];
        double[] dB = new double[s.outC()];
        double[] dX = new double[(int) (s.batch() * s.inSize())];
        for (int b = 0; b < s.batch(); b++)
            for (int o = 0; o < s.outC(); o++)
                for (int oy = 0; oy < oh; oy++)
                    for (int ox = 0; ox < ow; ox++) {
                        float gv = g[((b * s.outC() + o) * oh + oy) * ow + ox];
                        dB[o] += gv;
                        for (int c = 0; c < s.inC(); c++)
                            for (int ky = 0; ky < s.kh(); ky++)
                                for (int kx = 0; kx < s.kw(); kx++) {
                                    int iy = oy * s.stride() - s.pad() + ky, ix = ox * s.stride() - s.pad() + kx;
                                    if (iy < 0 || iy >= s.inH() || ix < 0 || ix >= s.inW()) continue;
                                    int xi = ((b * s.inC() + c) * s.inH() + iy) * s.inW() + ix;
                                    int wi = ((o * s.inC() + c) * s.kh() + ky) * s.kw() + kx;
                                    dW[wi] += (double) gv * r(x).f()[r(x).o() + xi];
                                    dX[xi] += (double) gv * v[wi];
                                }
                    }
        for (int i = 0; i < dW.length; i++) r(dw).f()[r(dw).o() + i] = (float) dW[i];
        if (db != null) for (int i = 0; i < dB.length; i++) r(db).f()[r(db).o() + i] = (float) dB[i];
        if (dx != null) for (int i = 0; i < dX.length; i++) r(dx).f()[r(dx).o() + i] = (float) dX[i];
    }

    @Override
    public void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule, float lr, float momentum,
                            float weightDecay, boolean firstStep) {
        float[] p = r(params).f(), v = r(velocity).f(), g = r(grads).f();
        for (int i = 0; i < params.length(); i++) {
            float th = p[r(params).o() + i], gi = g[r(grads).o() + i];
            float d = (rule == UpdateRule.BM ? Feedback.sign(gi) : gi) + weightDecay * th;
            float vel = firstStep ? d : momentum * v[r(velocity).o() + i] + d;
            v[r(velocity).o() + i] = vel;
            p[r(params).o() + i] = th - lr * vel;
        }
    }
}
