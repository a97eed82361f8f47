package asymbp.backend;

/**
 * The contract every backend (cpu, opencl, cuda) implements: memory, plus twelve fused ops that carry
 * the same names as the kernels ({@code linearForward} ↔ {@code linear_forward} in {@code kernels/}).
 *
 * <p>Conventions. Arguments go outputs first, then inputs, then sizes. A {@code d} prefix is a gradient.
 * Activations are row-major: linear layers B×features, convolutions NCHW (B×C×H×W). Linear weights are
 * out×in, convolution weights out×in×kh×kw. Every buffer is a {@link Buffer} view, usually a slice of a
 * flat buffer (parameters, gradients, activations). Unless said otherwise an op overwrites its outputs
 * completely (no accumulation) and never writes its inputs. Ops may run asynchronously; {@link #sync}
 * and the downloads wait for them. Nullable arguments are marked.
 *
 * <p>ReLU fusion: an op with a {@code relu} flag applies max(0,·) to its output; a backward op given a
 * non-null {@code y} (that op's post-ReLU output) first masks the incoming gradient: dy·[y &gt; 0].
 */
public interface Backend extends AutoCloseable {

    /** Short name: "cpu", "opencl", "cuda". */
    String name();

    /** Human-readable device description, for logs and result files. */
    String deviceName();

    // ---------------------------------------------------------------- memory

    /** A new buffer of {@code length} elements; contents undefined. */
    Buffer alloc(DType dtype, long length);

    /** Releases an allocation (all its views). Using it afterwards is an error. */
    void free(Buffer buffer);

    void upload(Buffer dst, float[] src);
    void upload(Buffer dst, int[] src);
    void upload(Buffer dst, byte[] src);

    void download(float[] dst, Buffer src);
    void download(int[] dst, Buffer src);

    /** Sets every element of a F32 view to {@code value} (zeroing; NaN poisoning in tests). */
    void fill(Buffer dst, float value);

    /** Copies {@code src} into {@code dst} (same dtype and length). */
    void copy(Buffer dst, Buffer src);

    /** Waits until every launched op has finished. */
    void sync();

    @Override void close();

    /**
     * The device memory a run may allocate, queried now; null where buffers live in the JVM's heap (the
     * cpu backend: the caller checks the heap).
     */
    default DeviceMemory deviceMemory() { return null; }

    /** The kernel versions launched so far, per op file (op → "v1", "v2,v3", ...); empty where ops are not kernels. */
    default java.util.Map<String, String> kernelVersions() { return java.util.Map.of(); }

    /**
     * Prepares to run many steps of {@code step} (batch size {@code batch}, loss statistics in
     * {@code stats}, divergence above {@code bound}). Call it after at least one step ran eagerly, so
     * lazily grown scratch memory exists. The default runs each step eagerly; the CUDA backend
     * records the step once as a graph and replays it.
     */
    default StepReplay replay(TrainStep step, Buffer stats, int batch, double bound) {
        return new EagerReplay(this, step, stats, batch, bound);
    }

    // ---------------------------------------------------------------- ops

    /**
     * Gathers a batch from a dataset held on the device and standardises it.
     * For b in [0,batch): n = indices[start+b]; x[b][f] = (images[n*features + f] / 255 − mean[c]) · invStd[c]
     * with c = f / plane (the channel); labelsOut[b] = labels[n].
     *
     * @param x          F32 batch×features (output)
     * @param labelsOut  I32 batch (output)
     * @param images     U8 N×features, pixels 0..255
     * @param labels     I32 N
     * @param indices    I32, the epoch's order
     * @param meanInvStd F32 2·C: C means, then C inverse standard deviations (C = features / plane)
     */
    void gatherStandardize(Buffer x, Buffer labelsOut, Buffer images, Buffer labels, Buffer indices,
                           Buffer meanInvStd, int start, int batch, int features, int plane);

    /**
     * y = x·Wᵀ + b, then ReLU if {@code relu}.
     *
     * @param y F32 batch×out
     * @param x F32 batch×in
     * @param w F32 out×in
     * @param b F32 out, nullable (no bias: the layer is followed by BN)
     */
    void linearForward(Buffer y, Buffer x, Buffer w, Buffer b, int batch, int in, int out, boolean relu);

    /**
     * 2-D convolution (cross-correlation, as PyTorch), zero padding, then bias, then ReLU if {@code relu}.
     *
     * @param y F32 batch×outC×outH×outW
     * @param x F32 batch×inC×inH×inW
     * @param w F32 outC×inC×kh×kw
     * @param b F32 outC, nullable
     */
    void conv2dForward(Buffer y, Buffer x, Buffer w, Buffer b, ConvShape s, boolean relu);

    /**
     * Batch norm over x viewed as batch×channels×spatial (spatial = 1 after a linear layer, H·W after a
     * convolution), then ReLU if {@code relu}.
     * Training: per channel, mean and biased variance over batch·spatial values; xhat = (x−mean)·invStd
     * with invStd = 1/sqrt(var + eps); saves mean and invStd; updates runMean ← (1−m)·runMean + m·mean and
     * runVar ← (1−m)·runVar + m·var·n/(n−1) with n = batch·spatial (m = momentum, 0.1).
     * Evaluation ({@code training} false): uses runMean/runVar and writes neither they nor saveMean/saveInvStd.
     * y = gamma·xhat + beta.
     *
     * @param saveMean   F32 channels (output in training; nullable in evaluation)
     * @param saveInvStd F32 channels (output in training; nullable in evaluation)
     * @param runMean    F32 channels (updated in place in training)
     * @param runVar     F32 channels (updated in place in training)
     */
    void batchnormForward(Buffer y, Buffer saveMean, Buffer saveInvStd, Buffer runMean, Buffer runVar,
                          Buffer x, Buffer gamma, Buffer beta, int batch, int channels, int spatial,
                          boolean training, float momentum, float eps, boolean relu);

    /**
     * Exact backward of training-mode batch norm (and of the fused ReLU when {@code y} is non-null).
     * g = dy·[y&gt;0] (or dy); dbeta = Σ g; dgamma = Σ g·xhat;
     * dx = gamma·invStd/n · (n·g − dbeta − xhat·dgamma), sums per channel over n = batch·spatial values.
     *
     * @param dx     F32 like x (output)
     * @param dgamma F32 channels (output)
     * @param dbeta  F32 channels (output)
     * @param dy     F32 like x
     * @param y      F32 like x: the forward output, nullable (no ReLU was fused)
     * @param x      F32: the forward input
     */
    void batchnormBackward(Buffer dx, Buffer dgamma, Buffer dbeta, Buffer dy, Buffer y, Buffer x,
                           Buffer saveMean, Buffer saveInvStd, Buffer gamma,
                           int batch, int channels, int spatial);

    /**
     * Max-pool k×k, stride k, no padding, floor division of H and W. Ties go to the first maximum in
     * row-major window order (every backend identically). argmax holds the flat input index
     * (within the whole x view) of each output's maximum.
     *
     * @param y      F32 batch×channels×(h/k)×(w/k)
     * @param argmax I32 like y
     */
    void maxpoolForward(Buffer y, Buffer argmax, Buffer x, int batch, int channels, int h, int w, int k);

    /** dx = 0 everywhere, then dx[argmax[i]] = dy[i] (windows do not overlap). */
    void maxpoolBackward(Buffer dx, Buffer dy, Buffer argmax, int batch, int channels, int h, int w, int k);

    /**
     * Softmax cross-entropy, mean over the batch. dlogits = (softmax(logits) − onehot(label)) / batch.
     * stats[0] = Σ_b −log softmax(logits_b)[label_b] (the batch's summed loss, computed stably);
     * stats[1] = number of b whose arg max (first maximum) differs from the label. Both written, not added.
     *
     * @param dlogits F32 batch×classes (output)
     * @param stats   F32 2 (output)
     * @param logits  F32 batch×classes
     * @param labels  I32 batch
     */
    void softmaxCrossEntropy(Buffer dlogits, Buffer stats, Buffer logits, Buffer labels, int batch, int classes);

    /**
     * Asymmetric backward of a linear layer (docs/spec.md §2). With g = dy·[y&gt;0] (y non-null) or dy:
     * dW = gᵀ·x; db = Σ_batch g; dx = g·V where V = V(W) is regenerated element by element by
     * {@link Feedback#v} and never stored. W's gradient never uses V.
     *
     * @param dx F32 batch×in, nullable (first layer: not needed)
     * @param dw F32 out×in
     * @param db F32 out, nullable (no bias)
     * @param dy F32 batch×out
     * @param y  F32 batch×out, nullable: the forward output when ReLU was fused
     * @param x  F32 batch×in: the forward input
     * @param w  F32 out×in
     */
    void linearBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                        Feedback fb, int batch, int in, int out);

    /**
     * Direct feedback (dfa, docs/spec.md §3): dx = e·B with B (classes×features) the fa-mode V of
     * {@code fb} over a classes×features matrix, regenerated element by element by {@link Feedback#v}
     * (flat index k·features + j) and never stored; no W is involved.
     *
     * @param dx F32 batch×features (output)
     * @param e  F32 batch×classes: the output error dlogits
     * @param fb an fa-mode feedback (B_l's layer word, σ or bound)
     */
    void feedbackProject(Buffer dx, Buffer e, Feedback fb, int batch, int classes, int features);

    /**
     * Asymmetric backward of a convolution: dW the ordinary weight gradient, db = Σ g over batch and
     * space, dx the transposed convolution of g with V(W).
     */
    void conv2dBackward(Buffer dx, Buffer dw, Buffer db, Buffer dy, Buffer y, Buffer x, Buffer w,
                        Feedback fb, ConvShape s);

    /**
     * One update over a flat parameter buffer (docs/spec.md §4): d = g + λθ (SGD) or sign(g) + λθ (BM, sign(0)=0);
     * v ← d if {@code firstStep} else μ·v + d; θ ← θ − η·v.
     *
     * @param params   F32 n (updated in place)
     * @param velocity F32 n (updated in place)
     * @param grads    F32 n
     */
    void applyUpdate(Buffer params, Buffer velocity, Buffer grads, UpdateRule rule,
                     float lr, float momentum, float weightDecay, boolean firstStep);
}
