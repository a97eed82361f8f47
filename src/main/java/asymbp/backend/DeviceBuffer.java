package asymbp.backend;

/** A view of one allocation of a {@link Device}: the API's handle plus the view's element offset. */
public final class DeviceBuffer extends Buffer {

    /** One allocation shared by all its views. */
    public static final class Allocation {
        /** The API's handle (CUdeviceptr, cl_mem). */
        public final Object handle;
        public final long bytes;
        final Device owner;
        boolean freed;

        Allocation(Object handle, long bytes, Device owner) {
            this.handle = handle;
            this.bytes = bytes;
            this.owner = owner;
        }
    }

    public final Allocation alloc;

    DeviceBuffer(Allocation alloc, DType dtype, long offset, long length) {
        super(dtype, offset, length);
        this.alloc = alloc;
        if (length > 0 && (offset + length) * dtype.bytes > alloc.bytes)
            throw new IndexOutOfBoundsException("view " + offset + "+" + length + " beyond an allocation of " + alloc.bytes + " bytes");
    }

    /** Byte offset of the view in its allocation. */
    public long byteOffset() { return offset() * dtype().bytes; }

    @Override protected Buffer view(long absoluteOffset, long len) {
        return new DeviceBuffer(alloc, dtype(), absoluteOffset, len);
    }
}
