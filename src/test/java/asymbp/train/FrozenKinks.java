package asymbp.train;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.UpdateRule;

import java.util.ArrayList;
import java.util.List;

/**
 * A backend that passes every call through, and can hold the loss on one smooth piece. ReLU and
 * max-pool are the loss's only kinks (BN with eps &gt; 0 and softmax are smooth). {@link #record()}
 * makes the next forwards note which side of every kink each element lands on: the on/off pattern of
 * each fused ReLU (y &gt; 0) and the winner of each max-pool window. After {@link #freeze()}, forwards
 * replay those decisions instead of taking them: a fused op runs without its ReLU and the pattern is
 * applied to its output, a max-pool outputs its input at the recorded winners. That forward computes
 * the smooth continuation of the recorded piece, which equals the loss on the piece and whose
 * derivative at the recorded point is the loss's gradient there (the gradient backward computes,
 * masking with y &gt; 0 and routing through the argmax).
 */
final class FrozenKinks implements Backend {

    private final Backend be;
    private final List<int[]> decisions = new ArrayList<>();
    private boolean frozen;
    private int next;        // the decision the next kinked op replays
    private long crossings;  // elements whose own decision, since the last freeze(), differs from the recorded one

    FrozenKinks(Backend be) { this.be = be; }

    /** Forgets the recorded decisions; forwards take and note their own. */
    void record() {
        frozen = false;
        decisions.clear();
    }

    /** Forwards from now on replay the recorded decisions, in the order they were noted. */
    void freeze() {
        if (decisions.isEmpty()) throw new IllegalStateException("nothing recorded to freeze");
        frozen = true;
        crossings = 0;
    }

    /** Elements whose own ReLU or max-pool decision differed from the replayed one, since {@link #freeze()}. */
    long crossings() { return crossings; }

    private int[] replay(String op, int length) {
        int at = next++;
        if (at >= decisions.size()) throw new IllegalStateException(op + " #" + at + " was not recorded");
        int[] d = decisions.get(at);
        if (d.length != length) throw new IllegalStateException(op + " #" + at + " has " + length + " elements, recorded " + d.length);
        return d;
    }

    /** A fused ReLU: note y &gt; 0 as a bit mask, or apply the recorded mask to the output computed without ReLU. */
    private void relu(Buffer y) {
        float[] v = new float[(int) y.length()];
        be.download(v, y);
        int words = (v.length + 31) / 32;
        if (!frozen) {
            int[] on = new int[words];
            for (int i = 0; i < v.length; i++) if (v[i] > 0) on[i >>> 5] |= 1 << (i & 31);
            decisions.add(on);
            return;
        }
        int[] on = replay("a ReLU", words);
        for (int i = 0; i < v.length; i++) {
            boolean keep = (on[i >>> 5] & (1 << (i & 31))) != 0;
            if (keep != v[i] > 0) crossings++;
            if (!keep) v[i] = 0f;
        }
        be.upload(y, v);
    }

    @Override public String name() { return be.name(); }
    @Override public String deviceName() { return be.deviceName(); }
    @Override public Buffer alloc(DType dtype, long length) { return be.alloc(dtype, length); }
    @Override public void free(Buffer buffer) { be.free(buffer); }
    @Override public void upload(Buffer dst, float[] src) { be.upload(dst, src); }
    @Override public void upload(Buffer dst, int[] src) { be.upload(dst, src); }
    @Override public void upload(Buffer dst, byte[] src) { be.upload(dst, src); }
    @Override public void download(float[] dst, Buffer src) { be.download(dst, src); }
    @Override public void download(int[] dst, Buffer src) { be.download(dst, src); }
    @Override public void fill(Buffer dst, float value) { be.fill(dst, value); }
    @Override public void copy(Buffer dst, Buffer src) { be.copy(dst, src); }
    @Override public void sync() { be.sync(); }
    @Override public void close() { be.close(); }

    @Override
    public void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                                  Buffer meanInvStd, int start, int batch, int features, int plane) {
        // A forward starts here: replay from the first decision.
        next = 0;
        be.gatherStandardize(x, labelsOut, images, labels, indices, meanInvStd, start, batch, features, plane);
    }

    @Override
    public void linearForward(Buffer y, Buffer x, Buffer w, Buffer b, int batch, int in, int out, boolean relu) {
        be.linearForward(y, x, w, b, batch, in, out, relu && !frozen);
        if (relu) relu(y);
    }

    @Override
    public void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer b, ConvShape s, boolean relu) {
        be.conv2dForward(y, x, w, b, s, relu && !frozen);
        if (relu) relu(y);
    }

    @Override
    public void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar,
                                 Buffer x, Buffer gamma, Buffer beta, int batch, int channels, int spatial,
                                 boolean training, float momentum, float eps, boolean relu) {
        be.batchnormForward(y, saveMean, saveInvStd, runMean, runVar, x, gamma, beta, batch, channels, spatial,
                training, momentum, eps, relu && !frozen);
        if (relu) relu(y);
    }

    @Override
    public void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k) {
        be.maxpoolForward(y, argmax, x, batch, channels, h, w, k);
        int[] own = new int[(int) argmax.length()];
        be.download(own, argmax);
        if (!frozen) {
            decisions.add(own);
            return;
        }
        int[] winner = replay("a max-pool", own.length);
        float[] in = new float[(int) x.length()], out = new float[own.length];
        be.download(in, x);
        for (int o = 0; o < out.length; o++) {
            if (own[o] != winner[o]) crossings++;
            out[o] = in[winner[o]];
        }
        be.upload(y, out);
        be.upload(argmax, winner);
    }

    @Override
    public void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                                  Buffer saveMean, Buffer saveInvStd, Buffer gamma, int batch, int channels, int spatial) {
        be.batchnormBackward(dx, dgamma, dbeta, dy, y, x, saveMean, saveInvStd, gamma, batch, channels, spatial);
    }

    @Override
    public void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k) {
        be.maxpoolBackward(dx, dy, argmax, batch, channels, h, w, k);
    }

    @Override
    public void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes) {
        be.softmaxCrossEntropy(dlogits, stats, logits, labels, batch, classes);
    }

    @Override
    public void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, int batch, int in, int out) {
        be.linearBackward(dx, dw, db, dy, y, x, w, fb, batch, in, out);
    }

    @Override
    public void feedbackProject(Buffer dx, Buffer e, Feedback fb, int batch, int classes, int features) {
        be.feedbackProject(dx, e, fb, batch, classes, features);
    }

    @Override
    public void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                               Feedback fb, ConvShape s) {
        be.conv2dBackward(dx, dw, db, dy, y, x, w, fb, s);
    }

    @Override
    public void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule,
                            float lr, float momentum, float weightDecay, boolean firstStep) {
        be.applyUpdate(params, velocity, grads, rule, lr, momentum, weightDecay, firstStep);
    }
}
