package asymbp.cuda;

import asymbp.backend.Buffer;
import asymbp.backend.DeviceBackend;
import jcuda.Pointer;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasOperation;
import jcuda.runtime.cudaStream_t;

/**
 * cuBLAS as a reference only (tests and benchmarks), never on the training path: JCublas 12.6 needs
 * libcublas.so.12, which a CUDA-13-only machine lacks, so {@link #open} reports one line instead.
 * It shares the CUDA backend's primary context and stream, so it reads the backend's buffers.
 */
public final class CublasReference implements AutoCloseable {

    private final cublasHandle handle;

    private CublasReference(cublasHandle handle) {
        this.handle = handle;
    }

    /** cuBLAS on {@code be}'s stream, or null with the reason in {@code reason[0]}. */
    public static CublasReference open(DeviceBackend be, String[] reason) {
        try {
            be.sync(); // makes the backend's context current on this thread
            cublasHandle h = new cublasHandle();
            int rc = JCublas2.cublasCreate(h);
            if (rc != 0) {
                reason[0] = "cublasCreate failed: " + jcuda.jcublas.cublasStatus.stringFor(rc);
                return null;
            }
            rc = JCublas2.cublasSetStream(h, new cudaStream_t(((CudaDevice) be.device()).stream()));
            if (rc != 0) {
                JCublas2.cublasDestroy(h);
                reason[0] = "cublasSetStream failed: " + jcuda.jcublas.cublasStatus.stringFor(rc);
                return null;
            }
            return new CublasReference(h);
        } catch (LinkageError | jcuda.CudaException e) {
            String m = String.valueOf(e.getMessage());
            reason[0] = "JCublas does not load (it needs libcublas.so.12 from CUDA 12): "
                    + (m.length() > 160 ? m.substring(0, 160) + "…" : m);
            return null;
        }
    }

    /**
     * y = x·Wᵀ (row-major batch×in times out×in, no bias), as {@code linearForward} without its epilogue.
     * Column-major, that is yᵀ (out×batch) = op(Wᵀ)ᵀ·xᵀ: SGEMM(T, N, m=out, n=batch, k=in).
     */
    public void linear(Buffer y, Buffer x, Buffer w, int batch, int in, int out) {
        Pointer alpha = Pointer.to(new float[] {1f}), beta = Pointer.to(new float[] {0f});
        int rc = JCublas2.cublasSgemm(handle, cublasOperation.CUBLAS_OP_T, cublasOperation.CUBLAS_OP_N, out, batch, in,
                alpha, CudaDevice.ptr(w), in, CudaDevice.ptr(x), in, beta, CudaDevice.ptr(y), out);
        if (rc != 0) throw new IllegalStateException("cublasSgemm failed: " + jcuda.jcublas.cublasStatus.stringFor(rc));
    }

    @Override public void close() {
        JCublas2.cublasDestroy(handle);
    }
}
