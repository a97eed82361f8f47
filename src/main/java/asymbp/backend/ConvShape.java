package asymbp.backend;

/**
 * Shape of a 2-D convolution, NCHW activations, weights out×in×kh×kw, square stride and zero padding.
 */
public record ConvShape(int batch, int inC, int inH, int inW, int outC, int kh, int kw, int stride, int pad) {
    public ConvShape {
        if (batch < 1 || inC < 1 || inH < 1 || inW < 1 || outC < 1 || kh < 1 || kw < 1 || stride < 1 || pad < 0)
            throw new IllegalArgumentException("bad convolution shape " + this);
        if (inH + 2 * pad < kh || inW + 2 * pad < kw)
            throw new IllegalArgumentException("kernel larger than padded input in " + this);
    }
    public int outH() { return (inH + 2 * pad - kh) / stride + 1; }
    public int outW() { return (inW + 2 * pad - kw) / stride + 1; }
    public long inSize() { return (long) inC * inH * inW; }
    public long outSize() { return (long) outC * outH() * outW(); }
    public long weightSize() { return (long) outC * inC * kh * kw; }
    public ConvShape withBatch(int b) { return new ConvShape(b, inC, inH, inW, outC, kh, kw, stride, pad); }
}
