package asymbp.opencl;

import asymbp.backend.Backend;
import asymbp.backend.Buffer;
import asymbp.backend.DType;
import asymbp.backend.Feedback;
import asymbp.backend.FeedbackMode;
import asymbp.conformance.DeviceBackends;
import asymbp.rng.Philox;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_program;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.jocl.CL.*;
import static org.junit.jupiter.api.Assertions.*;

/** kernels/common/philox.h against asymbp.rng.Philox and Feedback.v, bit for bit, on the OpenCL device. */
class OpenClPhiloxTest {

    private static final String PROBE = String.join("\n",
            "#include \"common/philox.h\"",
            "KERNEL void raw_words(GLOBAL uint* out, GLOBAL const uint* in, int n) {",
            "  int i = GLOBAL_ID(); if (i >= n) return;",
            "  uint w[4]; philox4x32_10(in[6*i], in[6*i+1], in[6*i+2], in[6*i+3], in[6*i+4], in[6*i+5], w);",
            "  for (int j = 0; j < 4; j++) out[4*i+j] = w[j];",
            "}",
            "KERNEL void feedback_values(GLOBAL float* v, GLOBAL const float* w, GLOBAL const uint* idx, FB_ARGS, int n) {",
            "  int i = GLOBAL_ID(); if (i >= n) return;",
            "  U64 index = ((U64) idx[2*i+1] << 32) | (U64) idx[2*i];",
            "  v[i] = feedback_v(FB_PASS, w[i], index);",
            "}",
            "");

    @Test
    void knownAnswersAndRandomCountersMatchJava() throws Exception {
        long seed = DeviceBackends.seed("OpenClPhiloxTest.raw");
        try (Backend be = DeviceBackends.openOrSkip("opencl")) {
            ClDevice cl = (ClDevice) ((asymbp.backend.DeviceBackend) be).device();
            cl_program p = cl.build(KernelSource.withPrelude(PROBE));
            cl_kernel k = clCreateKernel(p, "raw_words", null);
            SplittableRandom rnd = new SplittableRandom(seed);
            int n = 4096;
            int[] in = new int[6 * n];
            for (int i = 0; i < in.length; i++) in[i] = rnd.nextInt();
            int[][] kat = {{0, 0, 0, 0, 0, 0}, {-1, -1, -1, -1, -1, -1},
                    {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0}};
            for (int t = 0; t < kat.length; t++) System.arraycopy(kat[t], 0, in, 6 * t, 6);
            Buffer bin = be.alloc(DType.I32, in.length), bout = be.alloc(DType.I32, 4L * n);
            be.upload(bin, in);
            run(cl, k, n, bout, bin);
            int[] got = new int[4 * n];
            be.download(got, bout);
            int[] want = new int[4];
            for (int i = 0; i < n; i++) {
                Philox.philox4x32_10(in[6 * i], in[6 * i + 1], in[6 * i + 2], in[6 * i + 3], in[6 * i + 4], in[6 * i + 5], want);
                for (int j = 0; j < 4; j++)
                    assertEquals(want[j], got[4 * i + j], "word " + j + " of block " + i);
            }
            assertEquals(0x6627e8d5, got[0]);
            assertEquals(0x24126ea1, got[11]);
            clReleaseKernel(k);
            clReleaseProgram(p);
        }
    }

    private static void run(ClDevice cl, cl_kernel k, int n, Buffer out, Buffer in) {
        clSetKernelArg(k, 0, Sizeof.cl_mem, Pointer.to(mem(out)));
        clSetKernelArg(k, 1, Sizeof.cl_mem, Pointer.to(mem(in)));
        clSetKernelArg(k, 2, Sizeof.cl_int, Pointer.to(new int[]{n}));
        clEnqueueNDRangeKernel(cl.queue(), k, 1, null, new long[]{n}, null, 0, null, null);
        clFinish(cl.queue());
    }

    @Test
    void feedbackVMatchesJavaBitForBitInEveryMode() throws Exception {
        long seed = DeviceBackends.seed("OpenClPhiloxTest.feedback");
        try (Backend be = DeviceBackends.openOrSkip("opencl")) {
            ClDevice cl = (ClDevice) ((asymbp.backend.DeviceBackend) be).device();
            cl_program p = cl.build(KernelSource.withPrelude(PROBE));
            cl_kernel k = clCreateKernel(p, "feedback_values", null);
            SplittableRandom rnd = new SplittableRandom(seed);
            int n = 20000;
            float[] w = new float[n];
            int[] idx = new int[2 * n];
            long[] index = new long[n];
            for (int i = 0; i < n; i++) {
                int kind = rnd.nextInt(10);
                w[i] = kind == 0 ? 0f : kind == 1 ? -0f : (float) rnd.nextGaussian() * 0.1f;
                index[i] = i < n / 2 ? i : rnd.nextLong() >>> 1;   // dense small indices and 64-bit ones
                idx[2 * i] = (int) index[i];
                idx[2 * i + 1] = (int) (index[i] >>> 32);
            }
            Buffer bw = be.alloc(DType.F32, n), bi = be.alloc(DType.I32, 2L * n), bv = be.alloc(DType.F32, n);
            be.upload(bw, w);
            be.upload(bi, idx);
            float[] got = new float[n];
            for (FeedbackMode mode : FeedbackMode.kernelModes()) {
                for (int flags = 0; flags < 4; flags++) {   // bit 0 half-normal magnitudes, bit 1 uniform B (fa)
                    Feedback f = new Feedback(mode, 0.75f, 0.3f, 0.05f, (flags & Feedback.FLAG_HALF_NORMAL) != 0,
                            rnd.nextLong(), rnd.nextInt(1 << 24), rnd.nextInt(100000), (flags & Feedback.FLAG_UNIFORM_B) != 0);
                    be.fill(bv, Float.NaN);
                    int a = 0;
                    clSetKernelArg(k, a++, Sizeof.cl_mem, Pointer.to(mem(bv)));
                    clSetKernelArg(k, a++, Sizeof.cl_mem, Pointer.to(mem(bw)));
                    clSetKernelArg(k, a++, Sizeof.cl_mem, Pointer.to(mem(bi)));
                    int[] ints = {f.mode().ordinal()};
                    clSetKernelArg(k, a++, Sizeof.cl_int, Pointer.to(ints));
                    clSetKernelArg(k, a++, Sizeof.cl_float, Pointer.to(new float[]{f.scale()}));
                    clSetKernelArg(k, a++, Sizeof.cl_float, Pointer.to(new float[]{f.p()}));
                    clSetKernelArg(k, a++, Sizeof.cl_float, Pointer.to(new float[]{f.sigma()}));
                    clSetKernelArg(k, a++, Sizeof.cl_int, Pointer.to(new int[]{f.flags()}));
                    clSetKernelArg(k, a++, Sizeof.cl_int, Pointer.to(new int[]{(int) f.seed()}));
                    clSetKernelArg(k, a++, Sizeof.cl_int, Pointer.to(new int[]{(int) (f.seed() >>> 32)}));
                    clSetKernelArg(k, a++, Sizeof.cl_int, Pointer.to(new int[]{f.layer()}));
                    clSetKernelArg(k, a++, Sizeof.cl_int, Pointer.to(new int[]{f.step()}));
                    clSetKernelArg(k, a++, Sizeof.cl_int, Pointer.to(new int[]{n}));
                    clEnqueueNDRangeKernel(cl.queue(), k, 1, null, new long[]{n}, null, 0, null, null);
                    be.download(got, bv);
                    for (int i = 0; i < n; i++) {
                        float want = f.v(w[i], index[i]);
                        int at = i;
                        assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(got[i]),
                                () -> f + ": V at index " + index[at] + " (w = " + w[at] + ") is " + got[at]
                                        + " on the device, " + want + " in Java");
                    }
                }
            }
            clReleaseKernel(k);
            clReleaseProgram(p);
        }
    }

    private static org.jocl.cl_mem mem(Buffer b) { return (org.jocl.cl_mem) ((asymbp.backend.DeviceBuffer) b).alloc.handle; }
}
