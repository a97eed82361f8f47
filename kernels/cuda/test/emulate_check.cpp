// Runs the CUDA kernels of kernels/cuda/asymbp_ops.cu on the CPU (emulate.cuh: each block's threads are
// std::threads, __syncthreads a barrier, blocks in sequence) against naive double-precision references,
// so the kernels' indexing, tiling, split-K, reductions and graph scalars are checked without a GPU.
// Build and run: kernels/cuda/test/run.sh (also prints V(W) samples that VCheck.java compares with
// asymbp.backend.Feedback#v bit for bit).
#include <barrier>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../asymbp_ops.cu"

thread_local emu_dim3 threadIdx, blockIdx;
emu_dim3 blockDim, gridDim;
std::barrier<>* emu_barrier;
float emu_shfl_buf[1024];

template <class F>
static void launch(unsigned gx, unsigned gy, unsigned gz, unsigned bx, F body) {
    gridDim = {gx, gy, gz};
    blockDim = {bx, 1, 1};
    for (unsigned z = 0; z < gz; z++)
        for (unsigned y = 0; y < gy; y++)
            for (unsigned x = 0; x < gx; x++) {
                std::barrier<> bar((std::ptrdiff_t) bx);
                emu_barrier = &bar;
                std::vector<std::thread> ts;
                ts.reserve(bx);
                for (unsigned t = 0; t < bx; t++)
                    ts.emplace_back([&, t] {
                        threadIdx = {t, 1, 1};
                        threadIdx.y = 0; threadIdx.z = 0;
                        blockIdx = {x, y, z};
                        body();
                        bar.arrive_and_drop(); // an exited thread no longer holds barriers up, as on a GPU
                    });
                for (auto& t : ts) t.join();
            }
}

static std::mt19937_64 rng;
static int failures = 0;

static std::vector<float> rnd(size_t n, float lo = -1.f, float hi = 1.f) {
    std::uniform_real_distribution<float> d(lo, hi);
    std::vector<float> v(n);
    for (auto& x : v) x = d(rng);
    return v;
}
static std::vector<float> nan_vec(size_t n) { return std::vector<float>(n, __int_as_float(0x7fc00000)); }

// Relative error with a floor of 1% of the tensor's largest reference magnitude (sums near zero).
static void compare(const char* what, const std::vector<float>& got, const std::vector<double>& ref) {
    double mx = 0;
    for (double r : ref) mx = std::max(mx, std::fabs(r));
    double floor = std::max(1e-2 * mx, 1e-30), worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < ref.size(); i++) {
        double e = std::fabs((double) got[i] - ref[i]) / std::max(std::fabs(ref[i]), floor);
        if (!(e <= worst)) { worst = std::isnan(e) ? INFINITY : e; at = i; }
        if (std::isnan(e)) break;
    }
    bool ok = worst < 1e-4;
    if (!ok) failures++;
    std::printf("%-4s %-44s max rel err %.3g (element %zu: got %.9g, ref %.9g)\n", ok ? "ok" : "FAIL", what, worst, at,
                (double) got[at], ref[at]);
}

static FeedbackArgs fbargs(int mode, int step) {
    FeedbackArgs f = {mode, 1.0f, 0.75f, 0.1f, 0, 0x9abcdef0u, 0x12345678u, 3, step};
    return f;
}

static double vref(const FeedbackArgs& f, float w, long long i) { return fb_v(f, w, i); }

static void test_linear(int batch, int in, int out, int mode, bool relu, bool bias, int T = 64, bool materialize = false) {
    std::string tag = std::string(T == 128 ? "t128 " : "") + (materialize ? "matV " : "") + "linear b" + std::to_string(batch) + " in" + std::to_string(in) + " out" + std::to_string(out)
                      + " mode" + std::to_string(mode) + (relu ? " relu" : "") + (bias ? " bias" : "");
    auto x = rnd((size_t) batch * in), w = rnd((size_t) out * in), b = rnd(out), dy = rnd((size_t) batch * out);
    auto y = nan_vec((size_t) batch * out);
    launch((out + T - 1) / T, (batch + T - 1) / T, 1, 256, [&] {
        if (T == 128) linear_forward_t128(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, batch, in, out, relu);
        else linear_forward(y.data(), x.data(), w.data(), bias ? b.data() : nullptr, batch, in, out, relu);
    });
    std::vector<double> yr((size_t) batch * out);
    for (int m = 0; m < batch; m++)
        for (int n = 0; n < out; n++) {
            double s = bias ? b[n] : 0;
            for (int k = 0; k < in; k++) s += (double) x[(size_t) m * in + k] * w[(size_t) n * in + k];
            yr[(size_t) m * out + n] = relu ? std::max(0.0, s) : s;
        }
    compare((tag + " fwd").c_str(), y, yr);

    const float* yy = relu ? y.data() : nullptr;
    auto g = [&](size_t i) { return yy == nullptr ? (double) dy[i] : (yy[i] > 0 ? (double) dy[i] : 0.0); };
    FeedbackArgs f = fbargs(mode, 17);
    StepScalars dyn = {0, 17, 0, 0.f, 0, 0, 0.f, 0};
    auto dx = nan_vec((size_t) batch * in), dw = nan_vec((size_t) out * in), db = nan_vec(out);
    // dx through the device step scalar (graph path): the by-value step is wrong on purpose.
    std::vector<float> vmat = nan_vec(w.size());
    FeedbackArgs fk = f;
    const float* wop = w.data();
    if (materialize) { // V written once (step from device memory), then the product runs with bp on it
        launch((unsigned) ((w.size() + 255) / 256), 1, 1, 256, [&] {
            feedback_materialize(vmat.data(), w.data(), (long long) w.size(), f.mode, f.scale, f.p, f.sigma, f.halfNormal,
                                 f.seedLo, f.seedHi, f.layer, 999, &dyn);
        });
        wop = vmat.data();
        fk.mode = FB_BP;
    }
    launch((in + T - 1) / T, (batch + T - 1) / T, 1, 256, [&] {
        if (T == 128)
            linear_backward_dx_t128(dx.data(), dy.data(), yy, wop, batch, in, out, fk.mode, fk.scale, fk.p, fk.sigma,
                                    fk.halfNormal, fk.seedLo, fk.seedHi, fk.layer, 999, &dyn);
        else
            linear_backward_dx(dx.data(), dy.data(), yy, wop, batch, in, out, fk.mode, fk.scale, fk.p, fk.sigma,
                               fk.halfNormal, fk.seedLo, fk.seedHi, fk.layer, 999, &dyn);
    });
    launch((in + T - 1) / T, (out + T - 1) / T, 1, 256, [&] {
        if (T == 128) linear_backward_dw_t128(dw.data(), dy.data(), yy, x.data(), batch, in, out);
        else linear_backward_dw(dw.data(), dy.data(), yy, x.data(), batch, in, out);
    });
    launch(out, 1, 1, 256, [&] { channel_grad_sum(db.data(), dy.data(), yy, batch, out, 1); });
    std::vector<double> dxr((size_t) batch * in, 0), dwr((size_t) out * in, 0), dbr(out, 0);
    for (int m = 0; m < batch; m++)
        for (int o = 0; o < out; o++) {
            double gv = g((size_t) m * out + o);
            dbr[o] += gv;
            for (int i = 0; i < in; i++) {
                long long wi = (long long) o * in + i;
                dxr[(size_t) m * in + i] += gv * vref(f, w[wi], wi);
                dwr[wi] += gv * x[(size_t) m * in + i];
            }
        }
    compare((tag + " dx").c_str(), dx, dxr);
    compare((tag + " dw").c_str(), dw, dwr);
    compare((tag + " db").c_str(), db, dbr);
}

static void test_conv(int B, int C, int H, int W, int OC, int K, int stride, int pad, bool relu, int mode, int T = 64) {
    int OH = (H + 2 * pad - K) / stride + 1, OW = (W + 2 * pad - K) / stride + 1;
    std::string tag = std::string(T == 128 ? "t128 " : "") + "conv B" + std::to_string(B) + " C" + std::to_string(C) + " " + std::to_string(H) + "x" + std::to_string(W)
                      + " OC" + std::to_string(OC) + " k" + std::to_string(K) + " s" + std::to_string(stride) + " p" + std::to_string(pad);
    auto x = rnd((size_t) B * C * H * W), w = rnd((size_t) OC * C * K * K), b = rnd(OC), dy = rnd((size_t) B * OC * OH * OW);
    auto y = nan_vec((size_t) B * OC * OH * OW);
    int N = B * OH * OW;
    launch((N + T - 1) / T, (OC + T - 1) / T, 1, 256, [&] {
        if (T == 128) conv2d_forward_t128(y.data(), x.data(), w.data(), b.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, relu);
        else conv2d_forward(y.data(), x.data(), w.data(), b.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, relu);
    });
    auto X = [&](int bb, int c, int iy, int ix) -> double {
        if (iy < 0 || iy >= H || ix < 0 || ix >= W) return 0;
        return x[(((size_t) bb * C + c) * H + iy) * W + ix];
    };
    std::vector<double> yr(y.size());
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
    compare((tag + " fwd").c_str(), y, yr);

    const float* yy = relu ? y.data() : nullptr;
    FeedbackArgs f = fbargs(mode, 5);
    auto dx = nan_vec(x.size()), dw = nan_vec(w.size()), db = nan_vec(OC);
    launch((B * H * W + T - 1) / T, (C + T - 1) / T, 1, 256, [&] {
        if (T == 128)
            conv2d_backward_dx_t128(dx.data(), dy.data(), yy, w.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, f.mode,
                                    f.scale, f.p, f.sigma, f.halfNormal, f.seedLo, f.seedHi, f.layer, f.step, nullptr);
        else
            conv2d_backward_dx(dx.data(), dy.data(), yy, w.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, f.mode, f.scale,
                               f.p, f.sigma, f.halfNormal, f.seedLo, f.seedHi, f.layer, f.step, nullptr);
    });
    int n = C * K * K, kTotal = B * OH * OW, kChunk = 32, splits = (kTotal + kChunk - 1) / kChunk;
    std::vector<float> part = nan_vec((size_t) splits * OC * n);
    launch((n + T - 1) / T, (OC + T - 1) / T, splits, 256, [&] {
        if (T == 128) conv2d_backward_dw_t128(part.data(), dy.data(), yy, x.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, kChunk);
        else conv2d_backward_dw(part.data(), dy.data(), yy, x.data(), B, C, H, W, OC, K, K, stride, pad, OH, OW, kChunk);
    });
    launch((OC * n + 255) / 256, 1, 1, 256, [&] { conv2d_backward_dw_reduce(dw.data(), part.data(), OC * n, splits); });
    launch(OC, 1, 1, 256, [&] { channel_grad_sum(db.data(), dy.data(), yy, B, OC, OH * OW); });
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
                                long long wi = (((long long) o * C + c) * K + ky) * K + kx;
                                dwr[wi] += gv * X(bb, c, iy, ix);
                                if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                    dxr[(((size_t) bb * C + c) * H + iy) * W + ix] += gv * vref(f, w[wi], wi);
                            }
                }
    compare((tag + " dx").c_str(), dx, dxr);
    compare((tag + " dw (split-K)").c_str(), dw, dwr);
    compare((tag + " db").c_str(), db, dbr);
}

static void test_bn(int batch, int ch, int sp, bool relu, int chunks = 1) {
    std::string tag = std::string(chunks > 1 ? "split" + std::to_string(chunks) + " " : "") + "bn b" + std::to_string(batch) + " c" + std::to_string(ch) + " s" + std::to_string(sp) + (relu ? " relu" : "");
    size_t n = (size_t) batch * ch * sp;
    auto x = rnd(n, -2.f, 3.f), gamma = rnd(ch, 0.5f, 1.5f), beta = rnd(ch), dy = rnd(n);
    auto rm = rnd(ch), rv = rnd(ch, 0.5f, 2.f);
    auto rm0 = rm, rv0 = rv;
    auto y = nan_vec(n), mean = nan_vec(ch), inv = nan_vec(ch);
    float mom = 0.1f, eps = 1e-5f;
    long long nval = (long long) batch * sp;
    int chunkLen = (int) ((nval + chunks - 1) / chunks);
    int nch = (int) ((nval + chunkLen - 1) / chunkLen);
    unsigned groups = sp == 1 ? (ch + 31) / 32 : ch;
    std::vector<float> part = nan_vec((size_t) 3 * ch * nch);
    if (chunks > 1) {
        launch(groups, nch, 1, 256, [&] { batchnorm_partial_forward(part.data(), x.data(), batch, ch, sp, nch, chunkLen); });
        launch((ch + 255) / 256, 1, 1, 256, [&] {
            batchnorm_combine_forward(mean.data(), inv.data(), rm.data(), rv.data(), part.data(), ch, nch, mom, eps);
        });
        launch((unsigned) ((n + 255) / 256), 1, 1, 256, [&] {
            batchnorm_apply_forward(y.data(), x.data(), mean.data(), inv.data(), gamma.data(), beta.data(), batch, ch, sp, relu);
        });
    } else if (sp == 1)
        launch((ch + 31) / 32, 1, 1, 256, [&] {
            batchnorm_forward_rows(y.data(), mean.data(), inv.data(), rm.data(), rv.data(), x.data(), gamma.data(), beta.data(),
                                   batch, ch, mom, eps, relu);
        });
    else
        launch(ch, 1, 1, 256, [&] {
            batchnorm_forward_nchw(y.data(), mean.data(), inv.data(), rm.data(), rv.data(), x.data(), gamma.data(), beta.data(),
                                   batch, ch, sp, mom, eps, relu);
        });
    std::vector<double> yr(n), mr(ch), ir(ch), rmr(ch), rvr(ch), dxr(n), dgr(ch), dbr(ch);
    double cnt = (double) batch * sp;
    auto idx = [&](int b, int c, int s) { return ((size_t) b * ch + c) * sp + s; };
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
        }
    }
    compare((tag + " fwd y").c_str(), y, yr);
    compare((tag + " fwd mean").c_str(), mean, mr);
    compare((tag + " fwd invStd").c_str(), inv, ir);
    compare((tag + " running mean").c_str(), rm, rmr);
    compare((tag + " running var").c_str(), rv, rvr);

    const float* yy = relu ? y.data() : nullptr;
    auto dx = nan_vec(n), dg = nan_vec(ch), db = nan_vec(ch);
    if (chunks > 1) {
        part = nan_vec(part.size());
        launch(groups, nch, 1, 256, [&] {
            batchnorm_partial_backward(part.data(), dy.data(), yy, x.data(), mean.data(), inv.data(), batch, ch, sp, nch, chunkLen);
        });
        launch((ch + 255) / 256, 1, 1, 256, [&] { batchnorm_combine_backward(dg.data(), db.data(), part.data(), ch, nch); });
        launch((unsigned) ((n + 255) / 256), 1, 1, 256, [&] {
            batchnorm_apply_backward(dx.data(), dy.data(), yy, x.data(), mean.data(), inv.data(), gamma.data(), dg.data(),
                                     db.data(), batch, ch, sp);
        });
    } else if (sp == 1)
        launch((ch + 31) / 32, 1, 1, 256, [&] {
            batchnorm_backward_rows(dx.data(), dg.data(), db.data(), dy.data(), yy, x.data(), mean.data(), inv.data(),
                                    gamma.data(), batch, ch);
        });
    else
        launch(ch, 1, 1, 256, [&] {
            batchnorm_backward_nchw(dx.data(), dg.data(), db.data(), dy.data(), yy, x.data(), mean.data(), inv.data(),
                                    gamma.data(), batch, ch, sp);
        });
    for (int c = 0; c < ch; c++) {
        double sg = 0, sgx = 0;
        for (int b = 0; b < batch; b++) for (int q = 0; q < sp; q++) {
            size_t i = idx(b, c, q);
            double gv = yy == nullptr ? dy[i] : (yy[i] > 0 ? dy[i] : 0.0);
            sg += gv;
            sgx += gv * (x[i] - mr[c]) * ir[c];
        }
        dbr[c] = sg; dgr[c] = sgx;
        for (int b = 0; b < batch; b++) for (int q = 0; q < sp; q++) {
            size_t i = idx(b, c, q);
            double gv = yy == nullptr ? dy[i] : (yy[i] > 0 ? dy[i] : 0.0);
            dxr[i] = gamma[c] * ir[c] / cnt * (cnt * gv - sg - (x[i] - mr[c]) * ir[c] * sgx);
        }
    }
    compare((tag + " bwd dx").c_str(), dx, dxr);
    compare((tag + " bwd dgamma").c_str(), dg, dgr);
    compare((tag + " bwd dbeta").c_str(), db, dbr);

    auto ye = nan_vec(n);
    launch((unsigned) ((n + 255) / 256), 1, 1, 256, [&] {
        batchnorm_forward_eval(ye.data(), rm0.data(), rv0.data(), x.data(), gamma.data(), beta.data(), batch, ch, sp, eps, relu);
    });
    std::vector<double> yer(n);
    for (int b = 0; b < batch; b++) for (int c = 0; c < ch; c++) for (int q = 0; q < sp; q++) {
        double v = gamma[c] * (x[idx(b, c, q)] - rm0[c]) / std::sqrt(rv0[c] + eps) + beta[c];
        yer[idx(b, c, q)] = relu ? std::max(0.0, v) : v;
    }
    compare((tag + " eval").c_str(), ye, yer);
}

static void test_pool(int B, int C, int H, int W, int k) {
    std::string tag = "maxpool " + std::to_string(H) + "x" + std::to_string(W) + " k" + std::to_string(k);
    int OH = H / k, OW = W / k;
    auto x = rnd((size_t) B * C * H * W);
    for (size_t i = 0; i < x.size(); i += 7) x[i] = 0.5f; // ties: the first maximum wins
    auto y = nan_vec((size_t) B * C * OH * OW), dy = rnd(y.size());
    std::vector<int> am(y.size(), -1);
    launch((unsigned) ((y.size() + 255) / 256), 1, 1, 256, [&] { maxpool_forward(y.data(), am.data(), x.data(), B, C, H, W, k); });
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
    compare((tag + " fwd").c_str(), y, yr);
    std::vector<float> amf(am.begin(), am.end());
    compare((tag + " argmax").c_str(), amf, amr);
    auto dx = nan_vec(x.size());
    launch((unsigned) ((x.size() + 255) / 256), 1, 1, 256, [&] { maxpool_backward(dx.data(), dy.data(), am.data(), B, C, H, W, k); });
    compare((tag + " bwd").c_str(), dx, dxr);
}

static void test_softmax(int batch, int classes) {
    auto z = rnd((size_t) batch * classes, -4.f, 4.f);
    std::vector<int> lab(batch);
    for (int b = 0; b < batch; b++) lab[b] = (int) (rng() % classes);
    auto d = nan_vec(z.size()), st = nan_vec(2);
    launch(1, 1, 1, 256, [&] { softmax_cross_entropy(d.data(), st.data(), z.data(), lab.data(), batch, classes); });
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
    compare(("softmax_ce b" + std::to_string(batch) + " dlogits").c_str(), d, dr);
    compare(("softmax_ce b" + std::to_string(batch) + " stats").c_str(), st, sr);
}

static void test_gather_update() {
    int N = 50, batch = 13, C = 3, plane = 20, F = C * plane;
    std::vector<unsigned char> img((size_t) N * F);
    for (auto& p : img) p = (unsigned char) (rng() & 255);
    std::vector<int> lab(N), order(N);
    for (int i = 0; i < N; i++) { lab[i] = (int) (rng() % 10); order[i] = (i * 17) % N; }
    std::vector<float> ms = {0.1f, 0.2f, 0.3f, 2.f, 3.f, 4.f};
    auto x = nan_vec((size_t) batch * F);
    std::vector<int> lo(batch, -1);
    StepScalars dyn = {26, 0, 0, 0.f, 0, 0, 0.f, 0};
    launch((unsigned) ((x.size() + 255) / 256), 1, 1, 256, [&] {
        gather_standardize(x.data(), lo.data(), img.data(), lab.data(), order.data(), ms.data(), 0, batch, F, plane, &dyn);
    });
    std::vector<double> xr(x.size()), lr(batch);
    for (int b = 0; b < batch; b++) {
        int n = order[26 + b];
        lr[b] = lab[n];
        for (int f = 0; f < F; f++) xr[(size_t) b * F + f] = (img[(size_t) n * F + f] / 255.0 - ms[f / plane]) * ms[C + f / plane];
    }
    compare("gather_standardize (device start)", x, xr);
    std::vector<float> lof(lo.begin(), lo.end());
    compare("gather_standardize labels", lof, lr);

    for (int rule = 0; rule < 2; rule++)
        for (int first = 0; first < 2; first++) {
            long long n = 1000;
            auto th = rnd(n), v = rnd(n), g = rnd(n);
            g[3] = 0.f; g[4] = -0.f;
            auto th0 = th, v0 = v;
            StepScalars ds = {0, 0, first, 0.05f, 0, 0, 0.f, 0};
            launch((unsigned) ((n + 255) / 256), 1, 1, 256, [&] {
                apply_update(th.data(), v.data(), g.data(), n, rule, 9.f, 0.9f, 1e-3f, 1 - first, &ds);
            });
            std::vector<double> tr(n), vr(n);
            for (long long i = 0; i < n; i++) {
                double gs = rule ? (double) ((g[i] > 0) - (g[i] < 0)) : g[i];
                double d = gs + 1e-3 * th0[i];
                double vv = first ? d : 0.9 * v0[i] + d;
                vr[i] = vv; tr[i] = th0[i] - 0.05 * vv;
            }
            std::string t = std::string("apply_update ") + (rule ? "bm" : "sgd") + (first ? " first" : "") + " (device lr/flag)";
            compare((t + " params").c_str(), th, tr);
            compare((t + " velocity").c_str(), v, vr);
        }

    std::vector<PlannedStep> table = {{0, 1, 1, 0.5f}, {64, 2, 0, 0.25f}};
    StepScalars cur = {-1, -1, -1, -1.f, 0, 0, 0.f, 0};
    int counter = 0;
    for (int i = 0; i < 2; i++) {
        launch(1, 1, 1, 32, [&] { step_scalars_advance(&cur, table.data(), &counter); });
        bool ok = cur.start == table[i].start && cur.step == table[i].step && cur.firstStep == table[i].firstStep
                  && cur.lr == table[i].lr && counter == i + 1 && cur.halted == 0;
        if (!ok) failures++;
        std::printf("%-4s step_scalars_advance slot %d\n", ok ? "ok" : "FAIL", i);
    }
    std::vector<float> acc = {1.f, 2.f}, st = {0.5f, 3.f};
    launch(1, 1, 1, 32, [&] { stats_accumulate(acc.data(), st.data(), 2, &cur); });
    compare("stats_accumulate", acc, {1.5, 5.0});

    // step_guard: the host rule !(isFinite(loss) && loss <= bound) with loss = stats[0]/batch in float.
    struct GuardCase { float sum; int batch; double bound; bool halts; };
    // The host passes the largest float not above its double bound (StepReplay.boundFloor).
    auto floor_of = [](double b) { float f = (float) b; return (double) f > b ? std::nextafter(f, -INFINITY) : f; };
    const float inf = INFINITY, nan = __int_as_float(0x7fc00000);
    GuardCase cases[] = {{230.f, 100, 2.3, false}, {231.f, 100, 2.3, true}, {inf, 64, 1e30, true},
                         {nan, 64, 1e30, true}, {-inf, 64, 1e30, true}, {147.2f, 64, 2.3, false}};
    for (const GuardCase& c : cases) {
        StepScalars g = {0, 41, 0, 0.1f, 0, 0, 0.f, 0};
        std::vector<float> gs = {c.sum, 0.f};
        launch(1, 1, 1, 32, [&] { step_guard(&g, gs.data(), c.batch, floor_of(c.bound)); });
        float loss = c.sum / (float) c.batch;
        bool ok = g.halted == (c.halts ? 1 : 0) && (!c.halts || (g.haltStep == 41 && std::memcmp(&g.haltLoss, &loss, 4) == 0));
        if (!ok) failures++;
        std::printf("%-4s step_guard sum %g batch %d bound %g -> halted %d\n", ok ? "ok" : "FAIL", (double) c.sum, c.batch,
                    c.bound, g.halted);
    }
    // Once halted: the guard keeps the first halt, the advance keeps the flag, update and accumulate do nothing.
    {
        StepScalars h = {0, 5, 0, 0.1f, 0, 0, 0.f, 0};
        std::vector<float> bad = {1e9f, 0.f}, good = {1.f, 0.f};
        launch(1, 1, 1, 32, [&] { step_guard(&h, bad.data(), 10, floor_of(2.3)); });
        h.step = 6;
        launch(1, 1, 1, 32, [&] { step_guard(&h, good.data(), 10, floor_of(2.3)); });
        std::vector<PlannedStep> t2 = {{0, 7, 0, 0.2f}};
        int c2 = 0;
        launch(1, 1, 1, 32, [&] { step_scalars_advance(&h, t2.data(), &c2); });
        long long n = 300;
        auto th = rnd(n), v = rnd(n), g = rnd(n);
        auto th0 = th, v0 = v;
        launch((unsigned) ((n + 255) / 256), 1, 1, 256, [&] {
            apply_update(th.data(), v.data(), g.data(), n, 0, 9.f, 0.9f, 1e-3f, 0, &h);
        });
        std::vector<float> a2 = {1.f, 2.f};
        launch(1, 1, 1, 32, [&] { stats_accumulate(a2.data(), good.data(), 2, &h); });
        bool ok = h.halted == 1 && h.haltStep == 5 && h.haltLoss == 1e8f && h.step == 7 && th == th0 && v == v0
                  && a2[0] == 1.f && a2[1] == 2.f;
        if (!ok) failures++;
        std::printf("%-4s halted run: first halt kept, update and accumulate skipped\n", ok ? "ok" : "FAIL");
    }
}

// V samples for VCheck.java: "mode step halfNormal index wbits vbits" per line.
static void dump_v(const char* path) {
    FILE* f = std::fopen(path, "w");
    float ws[] = {0.7f, -0.3f, 0.f, -0.f, 1e-20f, -2.5f};
    for (int mode = 0; mode <= 5; mode++)
        for (int half = 0; half < 2; half++)
            for (int step : {0, 1, 123456})
                for (long long idx : {0LL, 1LL, 77LL, 4096LL, 5000000000LL})
                    for (float w : ws) {
                        FeedbackArgs a = fbargs(mode, step);
                        a.halfNormal = half;
                        float v = fb_v(a, w, idx);
                        unsigned wb, vb;
                        std::memcpy(&wb, &w, 4);
                        std::memcpy(&vb, &v, 4);
                        std::fprintf(f, "%d %d %d %lld %u %u\n", mode, step, half, idx, wb, vb);
                    }
    std::fclose(f);
}

int main(int argc, char** argv) {
    unsigned long long seed = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : std::random_device{}();
    std::printf("[seed] emulate_check: %llu (reproduce: emulate_check VFILE %llu)\n", seed, seed);
    rng.seed(seed);
    dump_v(argc > 1 ? argv[1] : "v_samples.txt");
    test_linear(70, 37, 67, FB_BRSF, true, true);
    test_linear(5, 130, 3, FB_PSF, false, false);
    test_linear(129, 16, 65, FB_BP, true, false);
    test_conv(3, 2, 9, 9, 5, 3, 1, 1, true, FB_FRSF);
    test_conv(2, 3, 8, 7, 4, 3, 2, 1, false, FB_FA);
    test_conv(2, 1, 12, 12, 6, 5, 1, 2, true, FB_USF);
    test_linear(300, 200, 260, FB_BRSF, true, true, 128);
    test_linear(130, 21, 129, FB_PSF, false, false, 128, true);
    test_linear(70, 37, 67, FB_FA, true, false, 64, true);
    test_conv(2, 3, 9, 8, 5, 3, 2, 1, true, FB_BRSF, 128);
    test_bn(37, 45, 1, true);
    test_bn(64, 3, 1, false);
    test_bn(5, 4, 49, true);
    test_bn(200, 40, 1, true, 3);
    test_bn(7, 3, 50, false, 4);
    test_bn(3, 2, 30, true, 7);
    test_pool(2, 3, 7, 9, 2);
    test_softmax(300, 10);
    test_gather_update();
    std::printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
