package asymbp.cuda;

import asymbp.backend.Buffer;
import asymbp.backend.DType;
import jcuda.driver.CUdeviceptr;

/** A view of one cuMemAlloc allocation; kernels get base pointer + byte offset of the view. */
final class CudaBuffer extends Buffer {

    /** One device allocation shared by all its views. */
    static final class Allocation {
        final CUdeviceptr ptr;
        final long bytes;
        boolean freed;
        Allocation(CUdeviceptr ptr, long bytes) { this.ptr = ptr; this.bytes = bytes; }
    }

    final Allocation allocation;

    CudaBuffer(Allocation allocation, DType dtype, long offset, long length) {
        super(dtype, offset, length);
        this.allocation = allocation;
        if ((offset + length) * dtype.bytes > Math.max(allocation.bytes, dtype.bytes) && length > 0)
            throw new IndexOutOfBoundsException("view " + offset + "+" + length + " beyond an allocation of "
                    + allocation.bytes + " bytes");
    }

    /** Device pointer to the first element of this view. */
    CUdeviceptr ptr() {
        long off = offset() * dtype().bytes;
        return off == 0 ? allocation.ptr : allocation.ptr.withByteOffset(off);
    }

    @Override protected Buffer view(long absoluteOffset, long len) {
        return new CudaBuffer(allocation, dtype(), absoluteOffset, len);
    }
}
