package asymbp.cpu;

import asymbp.backend.Buffer;
import asymbp.backend.DType;

/**
 * A view of a Java array: the allocation is one float[], int[] or byte[] shared by all its views;
 * {@link #offset()} is where this view starts in it.
 */
public final class CpuBuffer extends Buffer {

    /** The allocation all views share; {@code freed} lets a use after {@code free} fail loudly. */
    static final class Storage {
        final float[] f;
        final int[] i;
        final byte[] b;
        volatile boolean freed;

        Storage(DType dtype, int length) {
            f = dtype == DType.F32 ? new float[length] : null;
            i = dtype == DType.I32 ? new int[length] : null;
            b = dtype == DType.U8 ? new byte[length] : null;
        }
    }

    final Storage storage;

    CpuBuffer(Storage storage, DType dtype, long offset, long length) {
        super(dtype, offset, length);
        this.storage = storage;
    }

    @Override
    protected Buffer view(long absoluteOffset, long len) {
        return new CpuBuffer(storage, dtype(), absoluteOffset, len);
    }

    /** Offset as an int (a Java array cannot be longer). */
    int off() { return (int) offset(); }

    int len() { return (int) length(); }

    float[] f32() { live(); requireType(DType.F32); return storage.f; }
    int[] i32() { live(); requireType(DType.I32); return storage.i; }
    byte[] u8() { live(); requireType(DType.U8); return storage.b; }

    private void live() {
        if (storage.freed) throw new IllegalStateException("cpu buffer " + this + " used after free");
    }

    private void requireType(DType t) {
        if (dtype() != t) throw new IllegalArgumentException("cpu buffer " + this + " is " + dtype() + ", expected " + t);
    }
}
