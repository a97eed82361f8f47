// Runs every version of every CUDA op file (kernels/<op>.cu) on the CPU (emulate.cuh: a block's threads
// are std::threads, __syncthreads a barrier, blocks in sequence) and checks each against a naive
// double-precision reference and each tuned version (v2 and up) against version 1's output, so the
// portable bodies under the CUDA dialect (one pointer per buffer, null for an absent one, 1-D launches
// of 256 threads) and the tuned kernels' indexing, tiling, split-K, reductions and graph scalars are
// checked without a GPU. Outputs are poisoned with NaN before every launch.
// Build and run: kernels/cuda/test/run.sh (also prints V(W) samples that VCheck.java compares with
// asymbp.backend.Feedback#v bit for bit).
#include <barrier>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gather_standardize.cu"
#include "linear_forward.cu"
#include "linear_backward.cu"
#include "conv2d_forward.cu"
#include "conv2d_backward.cu"
#include "batchnorm_forward.cu"
#include "batchnorm_backward.cu"
#include "maxpool_forward.cu"
#include "maxpool_backward.cu"
#include "softmax_cross_entropy.cu"
#include "apply_update.cu"
#include "step_replay.cu"

thread_local emu_dim3 threadIdx, blockIdx;
emu_dim3 blockDim, gridDim;
std::barrier<>* emu_barrier;
float emu_shfl_buf[1024];

// One std::thread per thread of a block, reused for every block of the launch: between blocks all
// threads meet at a gate whose completion step installs a fresh block barrier (a thread that returned
// early leaves the block's barrier with arrive_and_drop, as an exited GPU thread no longer holds
// barriers up) and picks the next block, x fastest.
template <class F>
static void launch(unsigned gx, unsigned gy, unsigned gz, unsigned bx, F body) {
    gridDim = {gx, gy, gz};
    blockDim = {bx, 1, 1};
    const unsigned blocks = gx * gy * gz;
    std::unique_ptr<std::barrier<>> bar;
    unsigned next = 0, cur = 0;
    auto between = [&]() noexcept {
        cur = next++;
        bar.reset(new std::barrier<>((std::ptrdiff_t) bx));
        emu_barrier = bar.get();
    };
    std::barrier<decltype(between)> gate((std::ptrdiff_t) bx, between);
    std::vector<std::thread> ts;
    ts.reserve(bx);
    for (unsigned t = 0; t < bx; t++)
        ts.emplace_back([&, t] {
            threadIdx = {t, 0, 0};
            for (;;) {
                gate.arrive_and_wait();
                const unsigned b = cur;
                if (b >= blocks) break;
                blockIdx = {b % gx, (b / gx) % gy, b / (gx * gy)};
                body();
                bar->arrive_and_drop();
            }
        });
    for (auto& t : ts) t.join();
}
// Version 1's geometry: 1-D, WG threads per group.
template <class F>
static void launch1(int groups, F body) { launch((unsigned) groups, 1, 1, WG, body); }
static int cdiv(long long a, long long b) { return (int) ((a + b - 1) / b); }

static std::mt19937_64 rng;
static int failures = 0, checks = 0;

static std::vector<float> rnd(size_t n, float lo = -1.f, float hi = 1.f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}
static std::vector<float> nan_vec(size_t n) { return std::vector<float>(n, __int_as_float(0x7fc00000)); }
static std::vector<double> dbl(const std::vector<float>& v) { return std::vector<double>(v.begin(), v.end()); }

// Relative error with a floor of 1% of the tensor's largest reference magnitude (sums near zero).
static void compare(const std::string& what, const std::vector<float>& got, const std::vector<double>& ref) {
    double mx = 0;
    for (double r : ref) mx = std::max(mx, std::fabs(r));
    double floor = std::max(1e-2 * mx, 1e-30), worst = 0;
    size_t at = 0;
    bool sized = got.size() == ref.size();
    for (size_t i = 0; sized && i < ref.size(); i++) {
        double e = std::fabs((double) got[i] - ref[i]) / std::max(std::fabs(ref[i]), floor);
        if (!(e <= worst)) { worst = std::isnan(e) ? INFINITY : e; at = i; }
        if (std::isnan(e)) break;
    }
    bool ok = sized && worst < 1e-4;
    checks++;
    if (!ok) failures++;
    std::printf("%-4s %-58s max rel err %.3g (element %zu: got %.9g, ref %.9g)\n", ok ? "ok" : "FAIL", what.c_str(), worst,
                at, sized && !got.empty() ? (double) got[at] : 0.0, sized && !ref.empty() ? ref[at] : 0.0);
}
// A tuned version's output against version 1's (both float32).
static void compare_v1(const std::string& what, const std::vector<float>& got, const std::vector<float>& v1) {
    compare(what + " vs v1", got, dbl(v1));
}
static void check(bool ok, const std::string& what) {
    checks++;
    if (!ok) failures++;
    std::printf("%-4s %s\n", ok ? "ok" : "FAIL", what.c_str());
}

static FeedbackArgs fbargs(int mode, int step) {
    FeedbackArgs f = {mode, 1.0f, 0.75f, 0.1f, 0, 0x9abcdef0u, 0x12345678u, 3, step};
    return f;
}
#define FB9(f) (f).mode, (f).scale, (f).p, (f).sigma, (f).flags, (f).seedLo, (f).seedHi, (f).layer, (f).step
static std::vector<double> vmatrix(const FeedbackArgs& f, const std::vector<float>& w) {
    std::vector<double> v(w.size());
    for (size_t i = 0; i < w.size(); i++) v[i] = fb_v(f, w[i], (long long) i);
    return v;
}

// ------------------------------------------------------------------------------------------ linear

static void test_linear(int batch, int in, int out, int mode, bool relu, bool bias) {
    std::string tag = "linear b" + std::to_string(batch) + " in" + std::to_string(in) + " out" + std::to_string(out)
                      + " mode" + std::to_string(mode) + (relu ? " relu" : "") + (bias ? " bias" : "");
    auto x = rnd((size_t) batch * in), w = rnd((size_t) out * in), b = rnd(out), dy = rnd((size_t) batch * out);
    const float* bp = bias ? b.data() : nullptr;
    std::vector<double> yr((size_t) batch * out);
    for (int m = 0; m < batch; m++)
        for (int n = 0; n < out; n++) {
            double s = bias ? b[n] : 0;
            for (int k = 0; k < in; k++) s += (double) x[(size_t) m * in + k] * w[(size_t) n * in + k];
            yr[(size_t) m * out + n] = relu ? std::max(0.0, s) : s;
        }
    auto y1 = nan_vec(yr.size());
    launch1(tiles_for(batch, out), [&] { linear_forward(y1.data(), x.data(), w.data(), bp, batch, in, out, relu); });
    compare(tag + " fwd v1", y1, yr);
    auto yd = nan_vec(yr.size());
    launch1(cdiv((long long) cdiv(batch, DM) * cdiv(out, DN), WG),
            [&] { linear_forward_direct(yd.data(), x.data(), w.data(), bp, batch, in, out, relu); });
    compare(tag + " fwd v1 direct", yd, yr);
    for (int T : {64, 128}) {
        std::string v = T == 64 ? " fwd v2" : " fwd v3";
        auto y = nan_vec(yr.size());
        launch(cdiv(out, T), cdiv(batch, T), 1, 256, [&] {
            if (T == 64) linear_forward_v2(y.data(), x.data(), w.data(), bp, batch, in, out, relu);
            else linear_forward_v3(y.data(), x.data(), w.data(), bp, batch, in, out, relu);
        });
        compare(tag + v, y, yr);
        compare_v1(tag + v, y, y1);
    }

    // Backward with the ReLU mask taken from v1's y.
    const float* yy = relu ? y1.data() : nullptr;
    auto g = [&](size_t i) { return yy == nullptr ? (double) dy[i] : (yy[i] > 0 ? (double) dy[i] : 0.0); };
    FeedbackArgs f = fbargs(mode, 17);
    std::vector<double> V = vmatrix(f, w);
    std::vector<double> dxr((size_t) batch * in, 0), dwr((size_t) out * in, 0), dbr(out, 0);
    for (int m = 0; m < batch; m++)
        for (int o = 0; o < out; o++) {
            double gv = g((size_t) m * out + o);
            if (gv == 0) continue;
            dbr[o] += gv;
            for (int i = 0; i < in; i++) {
                size_t wi = (size_t) o * in + i;
                dxr[(size_t) m * in + i] += gv * V[wi];
                dwr[wi] += gv * x[(size_t) m * in + i];
            }
        }
    // v1, all three parts in one launch
    auto dx1 = nan_vec(dxr.size()), dw1 = nan_vec(dwr.size()), db1 = nan_vec(out);
    launch1(tiles_for(out, in) + tiles_for(batch, in) + cdiv(out, WG), [&] {
        linear_backward(dx1.data(), dw1.data(), db1.data(), dy.data(), yy, x.data(), w.data(), FB9(f), batch, in, out);
    });
    compare(tag + " dx v1", dx1, dxr);
    compare(tag + " dw v1", dw1, dwr);
    compare(tag + " db v1", db1, dbr);
    // v1 with dx alone (dw and db absent: null), then the CPU-device kernels
    auto dxa = nan_vec(dxr.size());
    launch1(tiles_for(batch, in), [&] {
        linear_backward(dxa.data(), nullptr, nullptr, dy.data(), yy, x.data(), w.data(), FB9(f), batch, in, out);
    });
    compare(tag + " dx v1 (dw, db null)", dxa, dxr);
    auto dwd = nan_vec(dwr.size()), dxd = nan_vec(dxr.size());
    launch1(cdiv((long long) cdiv(out, DWM) * cdiv(in, DWN), WG),
            [&] { linear_backward_dw_direct(dwd.data(), dy.data(), yy, x.data(), batch, in, out); });
    compare(tag + " dw v1 dw_direct", dwd, dwr);
    launch1(cdiv(in, DXN) * cdiv(batch, WG),
            [&] { linear_backward_dx_direct(dxd.data(), dy.data(), yy, w.data(), FB9(f), batch, in, out); });
    compare(tag + " dx v1 dx_direct", dxd, dxr);

    // Tuned: the step comes from the graph's scalars (the by-value step is wrong on purpose).
    StepScalars dyn = {0, 17, 0, 0.f, 0, 0, 0.f, 0};
    for (int T : {64, 128}) {
        std::string v = T == 64 ? " v2" : " v3";
        auto dx = nan_vec(dxr.size()), dw = nan_vec(dwr.size());
        launch(cdiv(in, T), cdiv(batch, T), 1, 256, [&] {
            if (T == 64) linear_backward_v2_dx(dx.data(), dy.data(), yy, w.data(), batch, in, out, f.mode, f.scale, f.p,
                                               f.sigma, f.flags, f.seedLo, f.seedHi, f.layer, 999, &dyn);
            else linear_backward_v3_dx(dx.data(), dy.data(), yy, w.data(), batch, in, out, f.mode, f.scale, f.p, f.sigma,
                                       f.flags, f.seedLo, f.seedHi, f.layer, 999, &dyn);
        });
        launch(cdiv(in, T), cdiv(out, T), 1, 256, [&] {
            if (T == 64) linear_backward_v2_dw(dw.data(), dy.data(), yy, x.data(), batch, in, out);
            else linear_backward_v3_dw(dw.data(), dy.data(), yy, x.data(), batch, in, out);
        });
        compare(tag + " dx" + v + " (step from dyn)", dx, dxr);
        compare_v1(tag + " dx" + v, dx, dx1);
        compare(tag + " dw" + v, dw, dwr);
        compare_v1(tag + " dw" + v, dw, dw1);
    }
    auto db = nan_vec(out);
    launch(out, 1, 1, 256, [&] { linear_backward_v2_db(db.data(), dy.data(), yy, batch, out, 1); });
    compare(tag + " db v2", db, dbr);
    compare_v1(tag + " db v2", db, db1);
    // v4: V written once (step from dyn), then v2 dx with bp on it; no dyn (by-value step) this time.
    auto vm = nan_vec(w.size()), dx4 = nan_vec(dxr.size());
    launch(cdiv(w.size(), 256), 1, 1, 256, [&] {
        linear_backward_v4_materialize(vm.data(), w.data(), (long long) w.size(), f.mode, f.scale, f.p, f.sigma,
                                       f.flags, f.seedLo, f.seedHi, f.layer, 999, &dyn);
    });
    compare(tag + " V v4 materialize", vm, V);
    launch(cdiv(in, 64), cdiv(batch, 64), 1, 256, [&] {
        linear_backward_v2_dx(dx4.data(), dy.data(), yy, vm.data(), batch, in, out, FB_BP, f.scale, f.p, f.sigma,
                              f.flags, f.seedLo, f.seedHi, f.layer, 999, nullptr);
    });
    compare(tag + " dx v4 (+v2 dx, bp)", dx4, dxr);
    compare_v1(tag + " dx v4", dx4, dx1);
}

// ------------------------------------------------------------------------------------- convolution

static void test_conv(int B, int C, int H, int W, int OC, int K, int stride, int pad, bool relu, int mode) {
    int OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
    std::string tag = "conv B" + std::to_string(B) + " C" + std::to_string(C) + " " + std::to_string(H) + "x"
                      + std::to_string(W) + " OC" + std::to_string(OC) + " k" + std::to_string(K) + " s"
                      + std::to_string(stride) + " p" + std::to_string(pad) + " mode" + std::to_string(mode);
    auto x = rnd((size_t) B * C * H * W), w = rnd((size_t) OC * C * K * K), b = rnd(OC), dy = rnd((size_t) B * OC * OH * OW);
    const int N = B * OH * OW, Kc = C * K * K;
    auto X = [&](int bb, int c, int iy, int ix) -> double {
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) return 0;
        return x[(((size_t) bb * C + c) * H + iy) * W + ix];
    };
    std::vector<double> yr(dy.size());
    for (int bb = 0; bb < B; bb++)
        for (int o = 0; o < OC; o++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double s = b[o];
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++)
                                s += X(bb, c, oy * stride - pad + ky, ox * stride - pad + kx) * w[(((size_t) o * C + c) * K + ky) * K + kx];
                    yr[(((size_t) bb * OC + o) * OH + oy) * OW + ox] = relu ? std::max(0.0, s) : s;
                }
    auto y1 = nan_vec(yr.size());
    launch1(tiles_for(OC, N), [&] {
        conv2d_forward(y1.data(), x.data(), w.data(), b.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, relu, 0);
    });
    compare(tag + " fwd v1", y1, yr);
    // the .cl's limits for its `direct` paths: ≤ 16 channels on the summed side, W fits the local array
    const bool fwdDirect = OC <= TM_WIDE && (size_t) OC * Kc <= (size_t) TK * TN_MAX;
    const bool dxDirect = C <= TM_WIDE && (size_t) OC * Kc <= (size_t) TK * TN_MAX;
    if (fwdDirect) {
        auto yd = nan_vec(yr.size());
        launch1(cdiv(N, WG), [&] {
            conv2d_forward(yd.data(), x.data(), w.data(), b.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, relu, 1);
        });
        compare(tag + " fwd v1 direct", yd, yr);
    }
    for (int T : {64, 128}) {
        std::string v = T == 64 ? " fwd v2" : " fwd v3";
        auto y = nan_vec(yr.size());
        launch(cdiv(N, T), cdiv(OC, T), 1, 256, [&] {
            if (T == 64) conv2d_forward_v2(y.data(), x.data(), w.data(), b.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, relu);
            else conv2d_forward_v3(y.data(), x.data(), w.data(), b.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, relu);
        });
        compare(tag + v, y, yr);
        compare_v1(tag + v, y, y1);
    }

    const float* yy = relu ? y1.data() : nullptr;
    FeedbackArgs f = fbargs(mode, 5);
    std::vector<double> V = vmatrix(f, w);
    std::vector<double> dxr(x.size(), 0), dwr(w.size(), 0), dbr(OC, 0);
    for (int bb = 0; bb < B; bb++)
        for (int o = 0; o < OC; o++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    size_t gi = (((size_t) bb * OC + o) * OH + oy) * OW + ox;
                    double gv = yy == nullptr ? dy[gi] : (yy[gi] > 0 ? dy[gi] : 0.0);
                    dbr[o] += gv;
                    for (int c = 0; c < C; c++)
                        for (int ky = 0; ky < K; ky++)
                            for (int kx = 0; kx < K; kx++) {
                                int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
                                size_t wi = (((size_t) o * C + c) * K + ky) * K + kx;
                                dwr[wi] += gv * X(bb, c, iy, ix);
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    dxr[(((size_t) bb * C + c) * H + iy) * W + ix] += gv * V[wi];
                            }
                }
    // v1: one launch for dW, dx and db; split_r = R (one chunk) and a split dW summed by conv2d_backward_reduce.
    const int R = N, nW = OC * Kc;
    auto run_v1 = [&](int split_r, int dw_direct, int dx_direct, std::vector<float>& dx, std::vector<float>& dw,
                      std::vector<float>& db) {
        const int S = cdiv(R, split_r);
        const int dwTiles = dw_direct ? cdiv(nW, WG) : tiles_for(OC, Kc);
        const int t2 = dx_direct ? cdiv((long long) B * H * W, WG) : tiles_for(C, B * H * W);
        auto partial = nan_vec(S > 1 ? (size_t) S * nW : 1);
        launch1(dwTiles * S + t2 + OC, [&] {
            conv2d_backward(dx.data(), dw.data(), db.data(), dy.data(), yy, x.data(), w.data(),
                            partial.data(), split_r, dw_direct, dx_direct, FB9(f), B, C, H, W, OC, K, K, stride, pad, OH, OW);
        });
        if (S > 1) launch1(cdiv(nW, WG), [&] { conv2d_backward_reduce(dw.data(), partial.data(), nW, S); });
    };
    auto dx1 = nan_vec(x.size()), dw1 = nan_vec(w.size()), db1 = nan_vec(OC);
    const int splitR = cdiv(R, BLOCK_R) * BLOCK_R;
    run_v1(splitR, 0, 0, dx1, dw1, db1);
    compare(tag + " dx v1", dx1, dxr);
    compare(tag + " dw v1", dw1, dwr);
    compare(tag + " db v1", db1, dbr);
    {   // split_r = BLOCK_R (several chunks when R > BLOCK_R) with the direct paths where the .cl allows them
        auto dx = nan_vec(x.size()), dw = nan_vec(w.size()), db = nan_vec(OC);
        run_v1(BLOCK_R, 1, dxDirect ? 1 : 0, dx, dw, db);
        std::string v = " v1 split_r " + std::to_string(BLOCK_R) + " (" + std::to_string(cdiv(R, BLOCK_R))
                        + " chunks) dw_direct" + (dxDirect ? " dx_direct" : "");
        compare(tag + " dx" + v, dx, dxr);
        compare(tag + " dw" + v, dw, dwr);
        compare(tag + " db" + v, db, dbr);
    }
    // v1 with dx and db absent (null)
    {
        auto dw = nan_vec(w.size());
        launch1(tiles_for(OC, Kc), [&] {
            conv2d_backward(nullptr, dw.data(), nullptr, dy.data(), yy, x.data(), w.data(), dw.data(), splitR, 0, 0,
                            FB9(f), B, C, H, W, OC, K, K, stride, pad, OH, OW);
        });
        compare(tag + " dw v1 (dx, db null)", dw, dwr);
    }

    // Tuned: dx by value (dyn null), dW split over chunks of 32 and summed by v2_reduce.
    int kChunk = 32, splits = cdiv(R, kChunk);
    for (int T : {64, 128}) {
        std::string v = T == 64 ? " v2" : " v3";
        auto dx = nan_vec(x.size()), dw = nan_vec(w.size());
        launch(cdiv((long long) B * H * W, T), cdiv(C, T), 1, 256, [&] {
            if (T == 64) conv2d_backward_v2_dx(dx.data(), dy.data(), yy, w.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW,
                                               FB9(f), nullptr);
            else conv2d_backward_v3_dx(dx.data(), dy.data(), yy, w.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW,
                                       FB9(f), nullptr);
        });
        std::vector<float> part = nan_vec((size_t) splits * nW);
        launch(cdiv(Kc, T), cdiv(OC, T), splits, 256, [&] {
            if (T == 64) conv2d_backward_v2_dw(part.data(), dy.data(), yy, x.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, kChunk);
            else conv2d_backward_v3_dw(part.data(), dy.data(), yy, x.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, kChunk);
        });
        launch(cdiv(nW, 256), 1, 1, 256, [&] { conv2d_backward_v2_reduce(dw.data(), part.data(), nW, splits); });
        compare(tag + " dx" + v, dx, dxr);
        compare_v1(tag + " dx" + v, dx, dx1);
        compare(tag + " dw" + v + " (split-K, v2 reduce)", dw, dwr);
        compare_v1(tag + " dw" + v, dw, dw1);
    }
    auto db = nan_vec(OC);
    launch(OC, 1, 1, 256, [&] { conv2d_backward_v2_db(db.data(), dy.data(), yy, B, OC, OH * OW); });
    compare(tag + " db v2", db, dbr);
    compare_v1(tag + " db v2", db, db1);
    // v4: V materialised (step from dyn; the by-value step is wrong on purpose), then v3 dx with bp on it.
    StepScalars dyn = {0, f.step, 0, 0.f, 0, 0, 0.f, 0};
    auto vm = nan_vec(w.size()), dx4 = nan_vec(x.size());
    launch(cdiv(w.size(), 256), 1, 1, 256, [&] {
        conv2d_backward_v4_materialize(vm.data(), w.data(), (long long) w.size(), f.mode, f.scale, f.p, f.sigma,
                                       f.flags, f.seedLo, f.seedHi, f.layer, 999, &dyn);
    });
    compare(tag + " V v4 materialize (step from dyn)", vm, V);
    launch(cdiv((long long) B * H * W, 128), cdiv(C, 128), 1, 256, [&] {
        conv2d_backward_v3_dx(dx4.data(), dy.data(), yy, vm.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, FB_BP,
                              f.scale, f.p, f.sigma, f.flags, f.seedLo, f.seedHi, f.layer, 999, nullptr);
    });
    compare(tag + " dx v4 (+v3 dx, bp)", dx4, dxr);
    compare_v1(tag + " dx v4", dx4, dx1);
}

// -------------------------------------------------------------------------------------- batch norm

static void test_bn(int batch, int ch, int sp, bool relu, int chunks) {
    std::string tag = "bn b" + std::to_string(batch) + " c" + std::to_string(ch) + " s" + std::to_string(sp) + (relu ? " relu" : "");
    size_t n = (size_t) batch * ch * sp;
    auto x = rnd(n, -2.f, 3.f), gamma = rnd(ch, 0.5f, 1.5f), beta = rnd(ch), dy = rnd(n);
    const auto rm0 = rnd(ch), rv0 = rnd(ch, 0.5f, 2.f);
    const float mom = 0.1f, eps = 1e-5f;
    auto idx = [&](int b, int c, int s) { return ((size_t) b * ch + c) * sp + s; };
    std::vector<double> yr(n), mr(ch), ir(ch), rmr(ch), rvr(ch), yer(n);
    const double cnt = (double) batch * sp;
    for (int c = 0; c < ch; c++) {
        double s = 0, s2 = 0;
        for (int b = 0; b < batch; b++) for (int q = 0; q < sp; q++) s += x[idx(b, c, q)];
        double m = s / cnt;
        for (int b = 0; b < batch; b++) for (int q = 0; q < sp; q++) { double d = x[idx(b, c, q)] - m; s2 += d * d; }
        double var = s2 / cnt, is = 1 / std::sqrt(var + eps);
        mr[c] = m; ir[c] = is;
        rmr[c] = (1 - mom) * rm0[c] + mom * m;
        rvr[c] = (1 - mom) * rv0[c] + mom * var * cnt / (cnt - 1);
        for (int b = 0; b < batch; b++) for (int q = 0; q < sp; q++) {
            double v = gamma[c] * (x[idx(b, c, q)] - m) * is + beta[c];
            yr[idx(b, c, q)] = relu ? std::max(0.0, v) : v;
            double e = gamma[c] * (x[idx(b, c, q)] - rm0[c]) / std::sqrt(rv0[c] + eps) + beta[c];
            yer[idx(b, c, q)] = relu ? std::max(0.0, e) : e;
        }
    }
    struct Fwd { std::vector<float> y, mean, inv, rm, rv; };
    auto fresh = [&] { return Fwd{nan_vec(n), nan_vec(ch), nan_vec(ch), rm0, rv0}; };
    auto check_fwd = [&](const std::string& v, const Fwd& o, const Fwd* v1) {
        compare(tag + " fwd y " + v, o.y, yr);
        compare(tag + " fwd mean " + v, o.mean, mr);
        compare(tag + " fwd invStd " + v, o.inv, ir);
        compare(tag + " running mean " + v, o.rm, rmr);
        compare(tag + " running var " + v, o.rv, rvr);
        if (v1) {
            compare_v1(tag + " fwd y " + v, o.y, v1->y);
            compare_v1(tag + " fwd mean " + v, o.mean, v1->mean);
            compare_v1(tag + " fwd invStd " + v, o.inv, v1->inv);
            compare_v1(tag + " running mean " + v, o.rm, v1->rm);
            compare_v1(tag + " running var " + v, o.rv, v1->rv);
        }
    };
    Fwd f1 = fresh();
    launch1(ch, [&] {
        batchnorm_forward(f1.y.data(), f1.mean.data(), f1.inv.data(), f1.rm.data(), f1.rv.data(), x.data(), gamma.data(),
                          beta.data(), batch, ch, sp, 1, mom, eps, relu);
    });
    check_fwd("v1", f1, nullptr);
    Fwd f2 = fresh();
    if (sp == 1)
        launch(cdiv(ch, 32), 1, 1, 256, [&] {
            batchnorm_forward_v2_rows(f2.y.data(), f2.mean.data(), f2.inv.data(), f2.rm.data(), f2.rv.data(), x.data(),
                                      gamma.data(), beta.data(), batch, ch, mom, eps, relu);
        });
    else
        launch(ch, 1, 1, 256, [&] {
            batchnorm_forward_v2_nchw(f2.y.data(), f2.mean.data(), f2.inv.data(), f2.rm.data(), f2.rv.data(), x.data(),
                                      gamma.data(), beta.data(), batch, ch, sp, mom, eps, relu);
        });
    check_fwd(sp == 1 ? "v2 rows" : "v2 nchw", f2, &f1);
    // v3: the channel's batch·spatial values in `chunks` pieces
    const long long nval = (long long) batch * sp;
    const int chunkLen = cdiv(nval, chunks), nch = cdiv(nval, chunkLen);
    const unsigned groups = sp == 1 ? cdiv(ch, 32) : ch;
    Fwd f3 = fresh();
    std::vector<float> part = nan_vec((size_t) 3 * ch * nch);
    launch(groups, nch, 1, 256, [&] { batchnorm_forward_v3_partial(part.data(), x.data(), batch, ch, sp, nch, chunkLen); });
    launch(cdiv(ch, 256), 1, 1, 256, [&] {
        batchnorm_forward_v3_combine(f3.mean.data(), f3.inv.data(), f3.rm.data(), f3.rv.data(), part.data(), ch, nch, mom, eps);
    });
    launch(cdiv(n, 256), 1, 1, 256, [&] {
        batchnorm_forward_v3_apply(f3.y.data(), x.data(), f3.mean.data(), f3.inv.data(), gamma.data(), beta.data(), batch, ch, sp, relu);
    });
    check_fwd("v3 (" + std::to_string(nch) + " chunks)", f3, &f1);
    // evaluation: v1 with training 0 (statistics untouched) and v2 eval
    Fwd e1 = fresh();
    launch1(ch, [&] {
        batchnorm_forward(e1.y.data(), e1.mean.data(), e1.inv.data(), e1.rm.data(), e1.rv.data(), x.data(), gamma.data(),
                          beta.data(), batch, ch, sp, 0, mom, eps, relu);
    });
    compare(tag + " eval y v1", e1.y, yer);
    check(e1.rm == rm0 && e1.rv == rv0 && std::isnan(e1.mean[0]), tag + " eval v1 leaves the statistics alone");
    auto ye = nan_vec(n);
    launch(cdiv(n, 256), 1, 1, 256, [&] {
        batchnorm_forward_v2_eval(ye.data(), rm0.data(), rv0.data(), x.data(), gamma.data(), beta.data(), batch, ch, sp, eps, relu);
    });
    compare(tag + " eval y v2 eval", ye, yer);
    compare_v1(tag + " eval y v2 eval", ye, e1.y);

    // backward from v1's saved statistics and y
    const float* yy = relu ? f1.y.data() : nullptr;
    std::vector<double> dxr(n), dgr(ch), dbr(ch);
    for (int c = 0; c < ch; c++) {
        double sg = 0, sgx = 0, m = f1.mean[c], is = f1.inv[c];
        for (int b = 0; b < batch; b++) for (int q = 0; q < sp; q++) {
            size_t i = idx(b, c, q);
            double gv = yy == nullptr ? dy[i] : (yy[i] > 0 ? dy[i] : 0.0);
            sg += gv;
            sgx += gv * (x[i] - m) * is;
        }
        dbr[c] = sg; dgr[c] = sgx;
        for (int b = 0; b < batch; b++) for (int q = 0; q < sp; q++) {
            size_t i = idx(b, c, q);
            double gv = yy == nullptr ? dy[i] : (yy[i] > 0 ? dy[i] : 0.0);
            dxr[i] = gamma[c] * is / cnt * (cnt * gv - sg - (x[i] - m) * is * sgx);
        }
    }
    struct Bwd { std::vector<float> dx, dg, db; };
    auto bfresh = [&] { return Bwd{nan_vec(n), nan_vec(ch), nan_vec(ch)}; };
    auto check_bwd = [&](const std::string& v, const Bwd& o, const Bwd* v1) {
        compare(tag + " bwd dx " + v, o.dx, dxr);
        compare(tag + " bwd dgamma " + v, o.dg, dgr);
        compare(tag + " bwd dbeta " + v, o.db, dbr);
        if (v1) {
            compare_v1(tag + " bwd dx " + v, o.dx, v1->dx);
            compare_v1(tag + " bwd dgamma " + v, o.dg, v1->dg);
            compare_v1(tag + " bwd dbeta " + v, o.db, v1->db);
        }
    };
    Bwd b1 = bfresh();
    launch1(ch, [&] {
        batchnorm_backward(b1.dx.data(), b1.dg.data(), b1.db.data(), dy.data(), yy, x.data(), f1.mean.data(), f1.inv.data(),
                           gamma.data(), batch, ch, sp);
    });
    check_bwd("v1", b1, nullptr);
    Bwd b2 = bfresh();
    if (sp == 1)
        launch(cdiv(ch, 32), 1, 1, 256, [&] {
            batchnorm_backward_v2_rows(b2.dx.data(), b2.dg.data(), b2.db.data(), dy.data(), yy, x.data(), f1.mean.data(),
                                       f1.inv.data(), gamma.data(), batch, ch);
        });
    else
        launch(ch, 1, 1, 256, [&] {
            batchnorm_backward_v2_nchw(b2.dx.data(), b2.dg.data(), b2.db.data(), dy.data(), yy, x.data(), f1.mean.data(),
                                       f1.inv.data(), gamma.data(), batch, ch, sp);
        });
    check_bwd(sp == 1 ? "v2 rows" : "v2 nchw", b2, &b1);
    Bwd b3 = bfresh();
    part = nan_vec(part.size());
    launch(groups, nch, 1, 256, [&] {
        batchnorm_backward_v3_partial(part.data(), dy.data(), yy, x.data(), f1.mean.data(), f1.inv.data(), batch, ch, sp, nch, chunkLen);
    });
    launch(cdiv(ch, 256), 1, 1, 256, [&] { batchnorm_backward_v3_combine(b3.dg.data(), b3.db.data(), part.data(), ch, nch); });
    launch(cdiv(n, 256), 1, 1, 256, [&] {
        batchnorm_backward_v3_apply(b3.dx.data(), dy.data(), yy, x.data(), f1.mean.data(), f1.inv.data(), gamma.data(),
                                    b3.dg.data(), b3.db.data(), batch, ch, sp);
    });
    check_bwd("v3 (" + std::to_string(nch) + " chunks)", b3, &b1);
}

// ------------------------------------------------------------------- pooling, loss, data, update

static void test_pool(int B, int C, int H, int W, int k) {
    std::string tag = "maxpool " + std::to_string(H) + "x" + std::to_string(W) + " k" + std::to_string(k);
    int OH = H / k, OW = W / k;
    auto x = rnd((size_t) B * C * H * W);
    for (size_t i = 0; i < x.size(); i += 7) x[i] = 0.5f; // ties: the first maximum wins
    auto y = nan_vec((size_t) B * C * OH * OW), dy = rnd(y.size());
    std::vector<int> am(y.size(), -1);
    launch1(cdiv(y.size(), WG), [&] { maxpool_forward(y.data(), am.data(), x.data(), B, C, H, W, k); });
    std::vector<double> yr(y.size()), amr(y.size()), dxr(x.size(), 0);
    for (int p = 0; p < B * C; p++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++) {
                size_t best = (size_t) p * H * W + (size_t) oy * k * W + ox * k;
                for (int a = 0; a < k; a++) for (int c = 0; c < k; c++) {
                    size_t j = (size_t) p * H * W + (size_t) (oy * k + a) * W + ox * k + c;
                    if (x[j] > x[best]) best = j;
                }
                size_t o = ((size_t) p * OH + oy) * OW + ox;
                yr[o] = x[best]; amr[o] = (double) best; dxr[best] = dy[o];
            }
    compare(tag + " fwd v1", y, yr);
    compare(tag + " argmax v1", std::vector<float>(am.begin(), am.end()), amr);
    auto dx = nan_vec(x.size());
    launch1(cdiv(x.size(), WG), [&] { maxpool_backward(dx.data(), dy.data(), am.data(), B, C, H, W, k); });
    compare(tag + " bwd v1", dx, dxr);
}

static void test_softmax(int batch, int classes) {
    std::string tag = "softmax_ce b" + std::to_string(batch) + " c" + std::to_string(classes);
    auto z = rnd((size_t) batch * classes, -4.f, 4.f);
    std::vector<int> lab(batch);
    for (int b = 0; b < batch; b++) lab[b] = (int) (rng() % classes);
    std::vector<double> dr(z.size()), sr(2, 0);
    for (int b = 0; b < batch; b++) {
        const float* r = &z[(size_t) b * classes];
        double mx = r[0]; int arg = 0;
        for (int j = 1; j < classes; j++) if (r[j] > mx) { mx = r[j]; arg = j; }
        double s = 0;
        for (int j = 0; j < classes; j++) s += std::exp(r[j] - mx);
        sr[0] += std::log(s) - (r[lab[b]] - mx);
        sr[1] += arg != lab[b];
        for (int j = 0; j < classes; j++) dr[(size_t) b * classes + j] = (std::exp(r[j] - mx) / s - (j == lab[b])) / batch;
    }
    auto d1 = nan_vec(z.size()), s1 = nan_vec(2), d2 = nan_vec(z.size()), s2 = nan_vec(2);
    launch1(1, [&] { softmax_cross_entropy(d1.data(), s1.data(), z.data(), lab.data(), batch, classes); });
    launch(1, 1, 1, 256, [&] { softmax_cross_entropy_v2(d2.data(), s2.data(), z.data(), lab.data(), batch, classes); });
    compare(tag + " dlogits v1", d1, dr);
    compare(tag + " stats v1", s1, sr);
    compare(tag + " dlogits v2", d2, dr);
    compare(tag + " stats v2", s2, sr);
    compare_v1(tag + " dlogits v2", d2, d1);
    compare_v1(tag + " stats v2", s2, s1);
}

static void test_gather() {
    int N = 50, batch = 13, C = 3, plane = 20, F = C * plane, start = 26;
    std::vector<unsigned char> img((size_t) N * F);
    for (auto& p : img) p = (unsigned char) (rng() & 255);
    std::vector<int> lab(N), order(N);
    for (int i = 0; i < N; i++) { lab[i] = (int) (rng() % 10); order[i] = (i * 17) % N; }
    std::vector<float> ms = {0.1f, 0.2f, 0.3f, 2.f, 3.f, 4.f};
    std::vector<double> xr((size_t) batch * F), lr(batch);
    for (int b = 0; b < batch; b++) {
        int n = order[start + b];
        lr[b] = lab[n];
        for (int f = 0; f < F; f++) xr[(size_t) b * F + f] = (img[(size_t) n * F + f] / 255.0 - ms[f / plane]) * ms[C + f / plane];
    }
    StepScalars dyn = {start, 0, 0, 0.f, 0, 0, 0.f, 0};
    std::vector<float> x1;
    std::vector<int> l1;
    for (int v = 1; v <= 3; v++) {
        auto x = nan_vec(xr.size());
        std::vector<int> lo(batch, -1);
        const char* what = v == 1 ? "v1" : v == 2 ? "v2 (start by value)" : "v2 (start from dyn)";
        launch1(cdiv(x.size(), WG), [&] {
            if (v == 1) gather_standardize(x.data(), lo.data(), img.data(), lab.data(), order.data(), ms.data(), start, batch, F, plane);
            else gather_standardize_v2(x.data(), lo.data(), img.data(), lab.data(), order.data(), ms.data(),
                                       v == 2 ? start : 0, batch, F, plane, v == 2 ? nullptr : &dyn);
        });
        compare(std::string("gather_standardize ") + what, x, xr);
        compare(std::string("gather_standardize labels ") + what, std::vector<float>(lo.begin(), lo.end()), lr);
        if (v == 1) { x1 = x; l1 = lo; }
        else check(x == x1 && lo == l1, std::string("gather_standardize ") + what + " vs v1: bit for bit");
    }
}

static void test_update() {
    for (int rule = 0; rule < 2; rule++)
        for (int first = 0; first < 2; first++) {
            const int n = 1000;
            const float lr = 0.05f, mom = 0.9f, wd = 1e-3f;
            auto th0 = rnd(n), v0 = rnd(n), g = rnd(n);
            g[3] = 0.f; g[4] = -0.f;
            std::vector<double> tr(n), vr(n);
            for (int i = 0; i < n; i++) {
                double gs = rule ? (double) ((g[i] > 0) - (g[i] < 0)) : g[i];
                double d = gs + 1e-3 * th0[i];
                double vv = first ? d : 0.9 * v0[i] + d;
                vr[i] = vv; tr[i] = th0[i] - 0.05 * vv;
            }
            std::string t = std::string("apply_update ") + (rule ? "bm" : "sgd") + (first ? " first" : "");
            auto th1 = th0, vel1 = v0;
            launch1(cdiv(n, WG), [&] { apply_update(th1.data(), vel1.data(), g.data(), n, rule, lr, mom, wd, first); });
            compare(t + " params v1", th1, tr);
            compare(t + " velocity v1", vel1, vr);
            // v2 by value, and with lr and the flag from dyn (the by-value ones wrong on purpose)
            StepScalars ds = {0, 0, first, lr, 0, 0, 0.f, 0};
            for (int useDyn = 0; useDyn < 2; useDyn++) {
                auto th = th0, vel = v0;
                launch(cdiv(n, 256), 1, 1, 256, [&] {
                    apply_update_v2(th.data(), vel.data(), g.data(), n, rule, useDyn ? 9.f : lr, mom, wd,
                                    useDyn ? 1 - first : first, useDyn ? &ds : nullptr);
                });
                std::string v = useDyn ? " v2 (lr, flag from dyn)" : " v2";
                compare(t + " params" + v, th, tr);
                compare(t + " velocity" + v, vel, vr);
                check(th == th1 && vel == vel1, t + v + " vs v1: bit for bit");
            }
            // the guarded v1 (OpenCL replay) while not halted
            std::vector<int> state = {0, 0};
            auto thg = th0, velg = v0;
            launch1(cdiv(n, WG), [&] {
                apply_update_guarded(thg.data(), velg.data(), g.data(), n, rule, lr, mom, wd, first, state.data());
            });
            check(thg == th1 && velg == vel1, t + " v1 apply_update_guarded (not halted) = apply_update, bit for bit");
        }
}

// step_replay: v1 (OpenCL replay queue's state) and v2 (the CUDA graph's StepScalars) apply one rule.
static void test_step_replay() {
    std::vector<PlannedStep> table = {{0, 1, 1, 0.5f}, {64, 2, 0, 0.25f}};
    StepScalars cur = {-1, -1, -1, -1.f, 0, 0, 0.f, 0};
    int counter = 0;
    for (int i = 0; i < 2; i++) {
        launch(1, 1, 1, 32, [&] { step_replay_v2_advance(&cur, table.data(), &counter); });
        check(cur.start == table[i].start && cur.step == table[i].step && cur.firstStep == table[i].firstStep
              && cur.lr == table[i].lr && counter == i + 1 && cur.halted == 0,
              "step_replay_v2_advance slot " + std::to_string(i));
    }
    std::vector<float> st = {0.5f, 3.f};
    {
        std::vector<float> a1 = {1.f, 2.f}, a2 = {1.f, 2.f}, a3 = {1.f, 2.f};
        std::vector<int> state = {0, 0};
        launch1(1, [&] { stats_accumulate(a1.data(), st.data(), state.data()); });
        launch(1, 1, 1, 32, [&] { step_replay_v2_accumulate(a2.data(), st.data(), 2, &cur); });
        launch(1, 1, 1, 32, [&] { step_replay_v2_accumulate(a3.data(), st.data(), 2, nullptr); });
        compare("stats_accumulate v1", a1, {1.5, 5.0});
        compare("step_replay_v2_accumulate", a2, {1.5, 5.0});
        check(a2 == a1 && a3 == a1, "step_replay_v2_accumulate (with and without scalars) vs v1: bit for bit");
    }
    // The host rule !(isFinite(loss) && loss <= bound) with loss = stats[0]/batch in float; the host
    // passes the largest float not above its double bound (StepReplay.boundFloor).
    struct GuardCase { float sum; int batch; double bound; bool halts; };
    auto floor_of = [](double b) { float f = (float) b; return (double) f > b ? std::nextafter(f, -INFINITY) : f; };
    const float inf = INFINITY, nan = __int_as_float(0x7fc00000);
    GuardCase cases[] = {{230.f, 100, 2.3, false}, {231.f, 100, 2.3, true}, {inf, 64, 1e30, true},
                         {nan, 64, 1e30, true}, {-inf, 64, 1e30, true}, {147.2f, 64, 2.3, false}};
    for (const GuardCase& c : cases) {
        StepScalars g = {0, 41, 0, 0.1f, 0, 0, 0.f, 0};
        std::vector<float> gs = {c.sum, 0.f}, hl = {0.f};
        std::vector<int> state = {0, 0};
        launch(1, 1, 1, 32, [&] { step_replay_v2_guard(&g, gs.data(), c.batch, floor_of(c.bound)); });
        launch1(1, [&] { step_guard(state.data(), hl.data(), gs.data(), c.batch, floor_of(c.bound), 41); });
        float loss = c.sum / (float) c.batch;
        bool ok2 = g.halted == (c.halts ? 1 : 0) && (!c.halts || (g.haltStep == 41 && std::memcmp(&g.haltLoss, &loss, 4) == 0));
        bool ok1 = state[0] == g.halted && state[1] == g.haltStep && std::memcmp(&hl[0], &g.haltLoss, 4) == 0;
        char what[160];
        std::snprintf(what, sizeof what, "step guard sum %g batch %d bound %g -> halted %d (v2; v1 the same)", (double) c.sum,
                      c.batch, c.bound, g.halted);
        check(ok1 && ok2, what);
    }
    // Once halted: the guards keep the first halt, the advance keeps the flag, update and accumulate do nothing.
    {
        StepScalars h = {0, 5, 0, 0.1f, 0, 0, 0.f, 0};
        std::vector<int> state = {0, 0};
        std::vector<float> hl = {0.f}, bad = {1e9f, 0.f}, good = {1.f, 0.f};
        launch(1, 1, 1, 32, [&] { step_replay_v2_guard(&h, bad.data(), 10, floor_of(2.3)); });
        launch1(1, [&] { step_guard(state.data(), hl.data(), bad.data(), 10, floor_of(2.3), 5); });
        h.step = 6;
        launch(1, 1, 1, 32, [&] { step_replay_v2_guard(&h, good.data(), 10, floor_of(2.3)); });
        launch1(1, [&] { step_guard(state.data(), hl.data(), good.data(), 10, floor_of(2.3), 6); });
        std::vector<PlannedStep> t2 = {{0, 7, 0, 0.2f}};
        int c2 = 0;
        launch(1, 1, 1, 32, [&] { step_replay_v2_advance(&h, t2.data(), &c2); });
        const int n = 300;
        auto th0 = rnd(n), v0 = rnd(n), g = rnd(n);
        auto th2 = th0, vel2 = v0, th1 = th0, vel1 = v0;
        launch(cdiv(n, 256), 1, 1, 256, [&] { apply_update_v2(th2.data(), vel2.data(), g.data(), n, 0, 9.f, 0.9f, 1e-3f, 0, &h); });
        launch1(cdiv(n, WG), [&] { apply_update_guarded(th1.data(), vel1.data(), g.data(), n, 0, 9.f, 0.9f, 1e-3f, 0, state.data()); });
        std::vector<float> a2 = {1.f, 2.f}, a1 = {1.f, 2.f};
        launch(1, 1, 1, 32, [&] { step_replay_v2_accumulate(a2.data(), good.data(), 2, &h); });
        launch1(1, [&] { stats_accumulate(a1.data(), good.data(), state.data()); });
        check(h.halted == 1 && h.haltStep == 5 && h.haltLoss == 1e8f && h.step == 7 && th2 == th0 && vel2 == v0
              && a2[0] == 1.f && a2[1] == 2.f, "halted run v2: first halt kept, apply_update_v2 and accumulate skipped");
        check(state[0] == 1 && state[1] == 5 && hl[0] == 1e8f && th1 == th0 && vel1 == v0 && a1[0] == 1.f && a1[1] == 2.f,
              "halted run v1: first halt kept, apply_update_guarded and stats_accumulate skipped");
    }
}

// V samples for VCheck.java: "mode step flags index wbits vbits" per line (flags: bit 0 half-normal, bit 1 uniform B).
static void dump_v(const char* path) {
    FILE* f = std::fopen(path, "w");
    float ws[] = {0.7f, -0.3f, 0.f, -0.f, 1e-20f, -2.5f};
    for (int mode = 0; mode <= 5; mode++)
        for (int flags = 0; flags < 4; flags++)
            for (int step : {0, 1, 123456})
                for (long long idx : {0LL, 1LL, 77LL, 4096LL, 5000000000LL})
                    for (float w : ws) {
                        FeedbackArgs a = fbargs(mode, step);
                        a.flags = flags;
                        float v = fb_v(a, w, idx);
                        unsigned wb, vb;
                        std::memcpy(&wb, &w, 4);
                        std::memcpy(&vb, &v, 4);
                        std::fprintf(f, "%d %d %d %lld %u %u\n", mode, step, flags, idx, wb, vb);
                    }
    std::fclose(f);
}

int main(int argc, char** argv) {
    unsigned long long seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : std::random_device{}();
    std::printf("[seed] emulate_check: %llu (reproduce: kernels/cuda/test/run.sh %llu)\n", seed, seed);
    rng.seed(seed);
    dump_v(argc > 1 ? argv[1] : "v_samples.txt");
    // Each group's wall time is printed: the whole check runs in CI on 2 cores.
    auto timed = [](const char* what, auto f) {
        auto t0 = std::chrono::steady_clock::now();
        f();
        std::printf("[time] %-40s %6.2f s\n", what, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    };
    timed("test_linear(70, 37, 67, FB_BRSF, true, true)", [] { test_linear(70, 37, 67, FB_BRSF, true, true); });
    timed("test_linear(5, 130, 3, FB_PSF, false, false)", [] { test_linear(5, 130, 3, FB_PSF, false, false); });
    timed("test_linear(260, 40, 140, FB_FA, true, true)", [] { test_linear(260, 40, 140, FB_FA, true, true); });
    timed("test_linear(129, 16, 65, FB_BP, true, false)", [] { test_linear(129, 16, 65, FB_BP, true, false); });
    timed("test_conv(3, 2, 9, 9, 5, 3, 1, 1, true, FB_FRSF)", [] { test_conv(3, 2, 9, 9, 5, 3, 1, 1, true, FB_FRSF); });
    timed("test_conv(2, 3, 8, 7, 4, 3, 2, 1, false, FB_FA)", [] { test_conv(2, 3, 8, 7, 4, 3, 2, 1, false, FB_FA); });
    timed("test_conv(2, 1, 12, 12, 6, 5, 1, 2, true, FB_USF)", [] { test_conv(2, 1, 12, 12, 6, 5, 1, 2, true, FB_USF); });
    timed("test_conv(2, 20, 7, 6, 70, 3, 2, 1, true, FB_BRSF)", [] { test_conv(2, 20, 7, 6, 70, 3, 2, 1, true, FB_BRSF); });
    timed("test_bn(37, 40, 1, true, 3)", [] { test_bn(37, 40, 1, true, 3); });
    timed("test_bn(64, 3, 1, false, 2)", [] { test_bn(64, 3, 1, false, 2); });
    timed("test_bn(5, 4, 49, true, 4)", [] { test_bn(5, 4, 49, true, 4); });
    timed("test_bn(3, 2, 30, true, 7)", [] { test_bn(3, 2, 30, true, 7); });
    timed("test_pool(2, 3, 7, 9, 2)", [] { test_pool(2, 3, 7, 9, 2); });
    timed("test_softmax(300, 10)", [] { test_softmax(300, 10); });
    timed("test_gather()", [] { test_gather(); });
    timed("test_update()", [] { test_update(); });
    timed("test_step_replay()", [] { test_step_replay(); });
    std::printf("%s: %d of %d checks failed (seed %llu)\n", failures ? "FAILED" : "PASSED", failures, checks, seed);
    return failures ? 1 : 0;
}
