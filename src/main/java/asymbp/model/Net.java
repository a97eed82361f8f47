package asymbp.model;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.ConvShape;
import asymbp.backend.Feedback;
import asymbp.rng.Philox;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.IntFunction;

/**
 * A feed-forward network as a list of layers over one flat parameter buffer ({@link #params}) and one
 * flat state buffer ({@link #state}: BN running statistics). Activations are numbered: 0 is the input,
 * each layer writes the next one; flatten is free because NCHW is contiguous.
 *
 * <p>ReLU is fused into the op before it: into the weight layer when there is no BN, into the BN when
 * there is (docs/spec.md §2: weight → BN → ReLU). A weight layer followed by BN has no bias.
 */
public final class Net {

    /** BN constants (docs/spec.md §2, as PyTorch). */
    public static final float BN_MOMENTUM = 0.1f, BN_EPS = 1e-5f;

    /** The most elements one buffer holds: a Java array's limit. */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    public sealed interface Layer permits WeightLayer, BatchNorm, MaxPool {
        int inAct();
        int outAct();
    }

    /** A layer with weights W (and maybe a bias): linear or convolution. */
    public sealed interface WeightLayer extends Layer permits Linear, Conv {
        /** 0-based weight layer index (the Philox layer word). */
        int index();
        /** PyTorch-style prefix: {@code conv1}, {@code fc3}. */
        String name();
        long weightOffset();
        /** -1 when the layer has no bias (followed by BN). */
        long biasOffset();
        long weightSize();
        int fanIn();
        int fanOut();
        /** Input features per example (C·H·W for a convolution, NCHW-flattened): the width of dfa's B_l. */
        int inFeatures();
        boolean relu();
    }

    public record Linear(int index, String name, int in, int out, long weightOffset, long biasOffset,
                         boolean relu, int inAct, int outAct) implements WeightLayer {
        public long weightSize() { return (long) in * out; }
        public int fanIn() { return in; }
        public int fanOut() { return out; }
        public int inFeatures() { return in; }
    }

    /** {@code shape} has batch 1; the real batch is substituted per call. */
    public record Conv(int index, String name, ConvShape shape, long weightOffset, long biasOffset,
                       boolean relu, int inAct, int outAct) implements WeightLayer {
        public long weightSize() { return shape.weightSize(); }
        public int fanIn() { return shape.inC() * shape.kh() * shape.kw(); }
        public int fanOut() { return shape.outC() * shape.kh() * shape.kw(); }
        public int inFeatures() { return (int) shape.inSize(); }
    }

    /** Offsets: gamma/beta in params, mean/var in state, saveOffset in the workspace's save buffer. */
    public record BatchNorm(String name, int channels, int spatial, long gammaOffset, long betaOffset,
                            long meanOffset, long varOffset, int saveOffset, boolean relu,
                            int inAct, int outAct) implements Layer {}

    /** {@code argmaxOffset} counts per-example elements in the argmax buffer. */
    public record MaxPool(int channels, int h, int w, int k, long argmaxOffset, int inAct, int outAct) implements Layer {
        public int outSize() { return channels * (h / k) * (w / k); }
    }

    private final List<Layer> layers;
    private final List<WeightLayer> weightLayers;
    private final ParamLayout params, state;
    private final long[] actSizes;
    private final long argmaxPerExample;
    private final int saveSize;
    private final int inputFeatures, classes;

    private Net(Builder b) {
        this.layers = Collections.unmodifiableList(b.layers);
        List<WeightLayer> ws = new ArrayList<>();
        for (Layer l : layers) if (l instanceof WeightLayer w) ws.add(w);
        this.weightLayers = Collections.unmodifiableList(ws);
        this.params = b.params;
        this.state = b.state;
        this.actSizes = b.actSizes.stream().mapToLong(Long::longValue).toArray();
        this.argmaxPerExample = b.argmax;
        this.saveSize = b.save;
        this.inputFeatures = (int) actSizes[0];
        this.classes = (int) actSizes[actSizes.length - 1];
    }

    // ------------------------------------------------------------------ building

    /** BioTorch's LeNet for MNIST layer for layer (docs/spec.md §6). */
    public static final String LENET_BIOTORCH = "lenet-biotorch";
    /** The model names, as error messages list them. */
    public static final String NAMES = "mlp:W1-W2-..., lenet, " + LENET_BIOTORCH + " or cifar";

    /**
     * Builds a model by name (docs/spec.md §6): {@code mlp:W1-W2-...}, {@code lenet}, {@code lenet-biotorch}, {@code cifar}.
     * Throws IllegalArgumentException naming --model when the name or the input shape does not fit.
     */
    public static Net build(String model, int channels, int height, int width, int classes, boolean bn) {
        String m = model == null ? "" : model.trim().toLowerCase(Locale.ROOT);
        Builder b = new Builder(bn, channels, height, width);
        try {
            if (m.startsWith("mlp")) {
                for (int w : parseMlp(model)) b.linear(w, true);
                b.linear(classes, false);
            } else if (m.equals("lenet")) {
                b.conv(6, 5, 2, true); b.pool(2);
                b.conv(16, 5, 0, true); b.pool(2);
                b.linear(120, true); b.linear(84, true); b.linear(classes, false);
            } else if (m.equals(LENET_BIOTORCH)) {
                // BioTorch's LeNetMNIST: a third convolution where lenet has fc 120 (same function on a 5×5
                // map, but Xavier's fan-out is 120·25), and nothing between fc 84 and the output layer
                b.conv(6, 5, 2, true); b.pool(2);
                b.conv(16, 5, 0, true); b.pool(2);
                b.conv(120, 5, 0, true);
                b.linear(84, false); b.linear(classes, false);
            } else if (m.equals("cifar")) {
                b.conv(32, 5, 2, true); b.pool(2);
                b.conv(32, 5, 2, true); b.pool(2);
                b.conv(64, 5, 2, true); b.pool(2);
                b.linear(64, true); b.linear(classes, false);
            } else {
                throw new IllegalArgumentException("--model " + model
                        + ": unknown model (expected " + NAMES + ")");
            }
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("--model")) throw e;
            throw new IllegalArgumentException("--model " + model + ": does not fit input "
                    + channels + "×" + height + "×" + width + " (" + e.getMessage() + ")");
        }
        // One flat float array holds them all (and the backends index them with ints).
        if (b.params.size() > MAX_ELEMENTS || b.state.size() > MAX_ELEMENTS)
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "--model %s: %,d parameters on input %d×%d×%d, more than one buffer holds (%,d)",
                    model, b.params.size(), channels, height, width, MAX_ELEMENTS));
        return new Net(b);
    }

    /** Checks a model name without an input shape (for validating flags before any work). */
    public static void checkName(String model) {
        String m = model == null ? "" : model.trim().toLowerCase(Locale.ROOT);
        if (m.startsWith("mlp")) parseMlp(model);
        else if (!m.equals("lenet") && !m.equals(LENET_BIOTORCH) && !m.equals("cifar"))
            throw new IllegalArgumentException("--model " + model
                    + ": unknown model (expected " + NAMES + ")");
    }

    static int[] parseMlp(String model) {
        String m = model.trim();
        if (!m.toLowerCase(Locale.ROOT).startsWith("mlp:") || m.length() == 4)
            throw new IllegalArgumentException("--model " + model + ": needs hidden widths, as mlp:1024-1024");
        String[] parts = m.substring(4).split("-", -1);
        int[] w = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                w[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                w[i] = -1;
            }
            if (w[i] < 1)
                throw new IllegalArgumentException("--model " + model + ": width '" + parts[i]
                        + "' is not a positive integer");
        }
        return w;
    }

    private static final class Builder {
        final boolean bn;
        final List<Layer> layers = new ArrayList<>();
        final ParamLayout params = new ParamLayout(), state = new ParamLayout();
        final List<Long> actSizes = new ArrayList<>();
        long argmax;
        int save;
        int c, h, w; // current activation shape (h = w = 1 once flat)
        int weightIndex;

        Builder(boolean bn, int c, int h, int w) {
            if (c < 1 || h < 1 || w < 1) throw new IllegalArgumentException("bad input shape");
            this.bn = bn; this.c = c; this.h = h; this.w = w;
            actSizes.add((long) c * h * w);
        }

        int cur() { return actSizes.size() - 1; }

        void conv(int outC, int k, int pad, boolean hidden) {
            ConvShape s = new ConvShape(1, c, h, w, outC, k, k, 1, pad);
            int idx = weightIndex++;
            String name = "conv" + (idx + 1);
            boolean useBn = hidden && bn;
            long wOff = params.add(name + ".weight", outC, c, k, k);
            long bOff = useBn ? -1 : params.add(name + ".bias", outC);
            int in = cur();
            actSizes.add(s.outSize());
            layers.add(new Conv(idx, name, s, wOff, bOff, hidden && !bn, in, cur()));
            c = outC; h = s.outH(); w = s.outW();
            if (useBn) batchnorm(idx, c, h * w);
        }

        void linear(int out, boolean hidden) {
            int inF = c * h * w;
            int idx = weightIndex++;
            String name = "fc" + (idx + 1);
            boolean useBn = hidden && bn;
            long wOff = params.add(name + ".weight", out, inF);
            long bOff = useBn ? -1 : params.add(name + ".bias", out);
            int in = cur();
            actSizes.add((long) out);
            layers.add(new Linear(idx, name, inF, out, wOff, bOff, hidden && !bn, in, cur()));
            c = out; h = 1; w = 1;
            if (useBn) batchnorm(idx, out, 1);
        }

        void batchnorm(int idx, int channels, int spatial) {
            String name = "bn" + (idx + 1);
            long g = params.add(name + ".weight", channels);
            long be = params.add(name + ".bias", channels);
            long m = state.add(name + ".running_mean", channels);
            long v = state.add(name + ".running_var", channels);
            int in = cur();
            actSizes.add(actSizes.get(in));
            layers.add(new BatchNorm(name, channels, spatial, g, be, m, v, save, true, in, cur()));
            save += 2 * channels;
        }

        void pool(int k) {
            if (h < k || w < k) throw new IllegalArgumentException("max-pool " + k + " on " + h + "×" + w);
            MaxPool p = new MaxPool(c, h, w, k, argmax, cur(), cur() + 1);
            argmax += p.outSize();
            actSizes.add((long) p.outSize());
            layers.add(p);
            h /= k; w /= k;
        }
    }

    // ------------------------------------------------------------------ accessors

    public List<Layer> layers() { return layers; }
    public List<WeightLayer> weightLayers() { return weightLayers; }
    public ParamLayout params() { return params; }
    public ParamLayout state() { return state; }
    public int inputFeatures() { return inputFeatures; }
    /** Activation elements per example, summed over every activation (the workspace holds two of these per image). */
    public long activationsPerExample() {
        long n = 0;
        for (long a : actSizes) n += a;
        return n;
    }
    /** Max-pool argmax elements per example. */
    public long argmaxPerExample() { return argmaxPerExample; }
    public int classes() { return classes; }

    /** The initialisation bound of a weight layer: 1/√fan_in, or Xavier's √(6/(fan_in+fan_out)). */
    public static float initBound(WeightLayer l, boolean xavier) {
        return xavier ? (float) Math.sqrt(6.0 / (l.fanIn() + l.fanOut())) : (float) (1.0 / Math.sqrt(l.fanIn()));
    }

    /** The standard deviation of a weight layer's initialisation (uniform on ±bound): bound/√3. */
    public static float initStd(WeightLayer l, boolean xavier) {
        return (float) (initBound(l, xavier) / Math.sqrt(3.0));
    }

    /**
     * Initial parameters (docs/spec.md §5), on the host so every backend starts from the same bits:
     * W, b ~ U(−1/√fan_in, 1/√fan_in) through Philox (layer = weight layer index, index = flat element
     * index); Xavier: W ~ U(±√(6/(fan_in+fan_out))), b = 0. γ = 1, β = 0.
     */
    public float[] initialParameters(long seed, boolean xavier) {
        float[] p = new float[(int) params.size()];
        for (Layer l : layers) {
            if (l instanceof WeightLayer wl) {
                float bound = initBound(wl, xavier);
                long n = wl.weightSize();
                for (long i = 0; i < n; i++) {
                    float u = Philox.uniform(seed, Philox.PURPOSE_INIT_WEIGHT, wl.index(), 0, i);
                    p[(int) (wl.weightOffset() + i)] = (2f * u - 1f) * bound;
                }
                if (wl.biasOffset() >= 0) {
                    int out = wl.fanOut() / (wl instanceof Conv c ? c.shape().kh() * c.shape().kw() : 1);
                    float bb = xavier ? 0f : (float) (1.0 / Math.sqrt(wl.fanIn()));
                    for (int i = 0; i < out; i++) {
                        float u = Philox.uniform(seed, Philox.PURPOSE_INIT_BIAS, wl.index(), 0, i);
                        p[(int) (wl.biasOffset() + i)] = (2f * u - 1f) * bb;
                    }
                }
            } else if (l instanceof BatchNorm b) {
                for (int i = 0; i < b.channels(); i++) {
                    p[(int) (b.gammaOffset() + i)] = 1f;
                    p[(int) (b.betaOffset() + i)] = 0f;
                }
            }
        }
        return p;
    }

    /** Initial BN state: running mean 0, running variance 1. */
    public float[] initialState() {
        float[] s = new float[(int) state.size()];
        for (Layer l : layers)
            if (l instanceof BatchNorm b)
                for (int i = 0; i < b.channels(); i++) s[(int) (b.varOffset() + i)] = 1f;
        return s;
    }

    // ------------------------------------------------------------------ workspace and passes

    /** Activations, their gradients and the pooling/BN scratch for batches up to {@code maxBatch}. */
    public final class Workspace implements AutoCloseable {
        private final Backend backend;
        public final int maxBatch;
        private final Buffer acts, grads, argmax, save;
        private final long[] actOffsets;

        Workspace(Backend backend, int maxBatch) {
            this.backend = backend;
            this.maxBatch = maxBatch;
            actOffsets = new long[actSizes.length];
            long total = 0;
            for (int i = 0; i < actSizes.length; i++) {
                actOffsets[i] = total;
                total += actSizes[i] * maxBatch;
            }
            acts = backend.alloc(asymbp.backend.DType.F32, total);
            grads = backend.alloc(asymbp.backend.DType.F32, total);
            argmax = backend.alloc(asymbp.backend.DType.I32, Math.max(1, argmaxPerExample * maxBatch));
            save = backend.alloc(asymbp.backend.DType.F32, Math.max(1, saveSize));
        }

        /** Activation {@code i} for a batch of {@code b}: the first b rows of its slot. */
        public Buffer act(int i, int b) { return acts.slice(actOffsets[i], actSizes[i] * b); }
        public Buffer grad(int i, int b) { return grads.slice(actOffsets[i], actSizes[i] * b); }
        public Buffer input(int b) { return act(0, b); }
        public Buffer logits(int b) { return act(actSizes.length - 1, b); }
        public Buffer dlogits(int b) { return grad(actSizes.length - 1, b); }

        Buffer argmax(MaxPool p, int b) {
            return argmax.slice(p.argmaxOffset() * maxBatch, (long) p.outSize() * b);
        }

        @Override public void close() {
            backend.free(acts);
            backend.free(grads);
            backend.free(argmax);
            backend.free(save);
        }
    }

    public Workspace workspace(Backend backend, int maxBatch) { return new Workspace(backend, maxBatch); }

    private static Buffer t(Buffer flat, long off, long len) { return flat.slice(off, len); }

    /** Forward pass of a batch of {@code b} already in {@code ws.input(b)}; logits in {@code ws.logits(b)}. */
    public void forward(Backend be, Workspace ws, Buffer params, Buffer state, int b, boolean training) {
        for (Layer l : layers) {
            Buffer x = ws.act(l.inAct(), b), y = ws.act(l.outAct(), b);
            if (l instanceof Linear li) {
                be.linearForward(y, x, t(params, li.weightOffset(), li.weightSize()),
                        li.biasOffset() < 0 ? null : t(params, li.biasOffset(), li.out()), b, li.in(), li.out(), li.relu());
            } else if (l instanceof Conv c) {
                be.conv2dForward(y, x, t(params, c.weightOffset(), c.weightSize()),
                        c.biasOffset() < 0 ? null : t(params, c.biasOffset(), c.shape().outC()),
                        c.shape().withBatch(b), c.relu());
            } else if (l instanceof BatchNorm n) {
                int ch = n.channels();
                be.batchnormForward(y, ws.save.slice(n.saveOffset(), ch), ws.save.slice(n.saveOffset() + ch, ch),
                        t(state, n.meanOffset(), ch), t(state, n.varOffset(), ch), x,
                        t(params, n.gammaOffset(), ch), t(params, n.betaOffset(), ch),
                        b, ch, n.spatial(), training, BN_MOMENTUM, BN_EPS, n.relu());
            } else if (l instanceof MaxPool p) {
                be.maxpoolForward(y, ws.argmax(p, b), x, b, p.channels(), p.h(), p.w(), p.k());
            }
        }
    }

    /**
     * Backward pass from {@code ws.dlogits(b)}: parameter gradients into {@code grads} (same layout as
     * params), activation gradients into the workspace. Weight layers send the error back through
     * {@code feedback.apply(weightLayerIndex)}; everything else is exact.
     *
     * @param inputGrad also compute the gradient of the network input (only the alignment metric needs it)
     */
    public void backward(Backend be, Workspace ws, Buffer params, Buffer grads, int b,
                         IntFunction<Feedback> feedback, boolean inputGrad) {
        backward(be, ws, params, grads, b, feedback, null, inputGrad);
    }

    /**
     * {@link #backward(Backend, Workspace, Buffer, Buffer, int, IntFunction, boolean)} with direct feedback
     * (dfa, docs/spec.md §3): where {@code direct} gives a weight layer an fa-mode B_l (non-null), that
     * layer's input gradient is e·B_l with e = dlogits, not its own backward's; its dW and db are its own.
     *
     * @param direct null, or per weight layer its B_l (null: the layer's own input gradient)
     */
    public void backward(Backend be, Workspace ws, Buffer params, Buffer grads, int b,
                         IntFunction<Feedback> feedback, IntFunction<Feedback> direct, boolean inputGrad) {
        for (int i = layers.size() - 1; i >= 0; i--) {
            Layer l = layers.get(i);
            Buffer x = ws.act(l.inAct(), b), y = ws.act(l.outAct(), b);
            Buffer dx = (l.inAct() == 0 && !inputGrad) ? null : ws.grad(l.inAct(), b);
            Buffer dy = ws.grad(l.outAct(), b);
            Feedback bl = direct != null && l instanceof WeightLayer wl ? direct.apply(wl.index()) : null;
            Buffer ownDx = bl == null ? dx : null;
            if (l instanceof Linear li) {
                be.linearBackward(ownDx, t(grads, li.weightOffset(), li.weightSize()),
                        li.biasOffset() < 0 ? null : t(grads, li.biasOffset(), li.out()),
                        dy, li.relu() ? y : null, x, t(params, li.weightOffset(), li.weightSize()),
                        feedback.apply(li.index()), b, li.in(), li.out());
            } else if (l instanceof Conv c) {
                be.conv2dBackward(ownDx, t(grads, c.weightOffset(), c.weightSize()),
                        c.biasOffset() < 0 ? null : t(grads, c.biasOffset(), c.shape().outC()),
                        dy, c.relu() ? y : null, x, t(params, c.weightOffset(), c.weightSize()),
                        feedback.apply(c.index()), c.shape().withBatch(b));
            } else if (l instanceof BatchNorm n) {
                int ch = n.channels();
                be.batchnormBackward(dx, t(grads, n.gammaOffset(), ch), t(grads, n.betaOffset(), ch), dy,
                        n.relu() ? y : null, x, ws.save.slice(n.saveOffset(), ch),
                        ws.save.slice(n.saveOffset() + ch, ch), t(params, n.gammaOffset(), ch),
                        b, ch, n.spatial());
            } else if (l instanceof MaxPool p) {
                be.maxpoolBackward(dx, dy, ws.argmax(p, b), b, p.channels(), p.h(), p.w(), p.k());
            }
            if (bl != null && dx != null)
                be.feedbackProject(dx, ws.dlogits(b), bl, b, classes, ((WeightLayer) l).inFeatures());
        }
    }
}
