package asymbp.backend;

/**
 * A typed view of device memory: a backend-owned allocation plus an element offset and length.
 * Views share memory; {@link #slice} is free. Each backend subclasses it with its own handle and
 * reads {@link #offset()} when it launches a kernel, so ops work on any part of a flat buffer.
 */
public abstract class Buffer {
    private final DType dtype;
    private final long offset;
    private final long length;

    protected Buffer(DType dtype, long offset, long length) {
        if (offset < 0 || length < 0) throw new IllegalArgumentException("bad view " + offset + "+" + length);
        this.dtype = dtype;
        this.offset = offset;
        this.length = length;
    }

    public final DType dtype() { return dtype; }
    /** Offset of this view, in elements, from the start of the allocation. */
    public final long offset() { return offset; }
    /** Length of this view, in elements. */
    public final long length() { return length; }

    /** A view of {@code len} elements starting {@code off} elements into this view. */
    public final Buffer slice(long off, long len) {
        if (off < 0 || len < 0 || off + len > length)
            throw new IndexOutOfBoundsException("slice " + off + "+" + len + " of a view of " + length);
        return view(offset + off, len);
    }

    /** Backend hook: a view of the same allocation at an absolute element offset. */
    protected abstract Buffer view(long absoluteOffset, long len);

    @Override public String toString() { return dtype + "[" + offset + "+" + length + "]"; }
}
