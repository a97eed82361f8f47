#!/usr/bin/python3
"""Training-throughput benchmark of the asymbp models in PyTorch (CPU), the peer of asymbp.bench.TrainThroughput.

The models are docs/spec.md §6's LeNet and MLP with batch norm, and the weight layers are custom autograd
Functions that do what asymbp's backward does (docs/spec.md §2): the error goes back through V made from W
at every step (bp: V = W; brsf: V = M_t * sign(W), M_t ~ U(0,1) drawn fresh every step; usf, frsf too),
the weight gradient is the ordinary one, biases and BN exact. The update is SGD with momentum (or
Batch Manhattan). Batches are gathered from a uint8 dataset held in memory and standardised inside the
timed step, as asymbp's gatherStandardize does on the device.

Prints one JSON line per repetition: {"impl":"pytorch", "model":..., "images_per_s":..., ...}.
Run with /usr/bin/python3 (Debian's python3-torch), e.g.
    /usr/bin/python3 bench/pytorch/train_bench.py --model lenet --mode brsf --seconds 8
"""
import argparse
import gzip
import json
import os
import platform
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


# ---------------------------------------------------------------- feedback: V as a function of W

class FeedbackV:
    """Makes V from W for one weight layer, once per backward call (docs/spec.md §3)."""

    def __init__(self, mode, scale=1.0):
        if mode not in ("bp", "usf", "brsf", "frsf"):
            raise SystemExit(f"--mode: unsupported feedback mode '{mode}' (bp, usf, brsf, frsf)")
        self.mode = mode
        self.scale = scale
        self.fixed_m = None  # frsf's M, drawn once

    def v(self, w):
        if self.mode == "bp":
            return w
        s = torch.sign(w)  # sign(0) = 0, as docs/spec.md §3 asks
        if self.mode == "usf":
            return s.mul_(self.scale)
        if self.mode == "brsf":
            return torch.rand_like(w).mul_(self.scale).mul_(s)  # M_t redrawn every step
        if self.fixed_m is None:
            self.fixed_m = torch.rand_like(w).mul_(self.scale)
        return self.fixed_m * s


class AsymLinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, fb):
        ctx.save_for_backward(x, w)
        ctx.fb = fb
        ctx.has_bias = b is not None
        return torch.addmm(b, x, w.t()) if b is not None else x.mm(w.t())

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        gx = g.mm(ctx.fb.v(w)) if ctx.needs_input_grad[0] else None  # error through V
        gw = g.t().mm(x)                                                 # ordinary weight gradient
        gb = g.sum(0) if ctx.has_bias else None
        return gx, gw, gb, None


class AsymConvFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, b, fb, padding):
        ctx.save_for_backward(x, w)
        ctx.fb = fb
        ctx.padding = padding
        ctx.has_bias = b is not None
        return F.conv2d(x, w, b, stride=1, padding=padding)

    @staticmethod
    def backward(ctx, g):
        x, w = ctx.saved_tensors
        need_x = ctx.needs_input_grad[0]
        # One native call: the input gradient is the transposed convolution with V; the weight and bias
        # gradients do not read the weight's values, so passing V leaves them ordinary.
        gx, gw, gb = torch.ops.aten.convolution_backward(
            g, x, ctx.fb.v(w) if need_x else w, [w.shape[0]] if ctx.has_bias else None,
            [1, 1], [ctx.padding, ctx.padding], [1, 1], False, [0, 0], 1,
            [need_x, True, ctx.has_bias])
        return gx, gw, gb, None, None


def uniform_init(t, fan_in, gen):
    bound = 1.0 / fan_in ** 0.5  # docs/spec.md §5: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    with torch.no_grad():
        t.uniform_(-bound, bound, generator=gen)


class AsymLinear(nn.Module):
    def __init__(self, fan_in, fan_out, bias, mode, gen):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(fan_out, fan_in))
        self.bias = nn.Parameter(torch.empty(fan_out)) if bias else None
        uniform_init(self.weight, fan_in, gen)
        if bias:
            uniform_init(self.bias, fan_in, gen)
        self.fb = FeedbackV(mode)

    def forward(self, x):
        return AsymLinearFn.apply(x, self.weight, self.bias, self.fb)


class AsymConv(nn.Module):
    def __init__(self, in_c, out_c, k, padding, bias, mode, gen):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_c, in_c, k, k))
        self.bias = nn.Parameter(torch.empty(out_c)) if bias else None
        uniform_init(self.weight, in_c * k * k, gen)
        if bias:
            uniform_init(self.bias, in_c * k * k, gen)
        self.padding = padding
        self.fb = FeedbackV(mode)

    def forward(self, x):
        return AsymConvFn.apply(x, self.weight, self.bias, self.fb, self.padding)


def lenet(mode, classes, gen, channels=1):
    """docs/spec.md §6 LeNet with BN; a weight layer followed by BN has no bias."""
    return nn.Sequential(
        AsymConv(channels, 6, 5, 2, False, mode, gen), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
        AsymConv(6, 16, 5, 0, False, mode, gen), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        AsymLinear(16 * 5 * 5, 120, False, mode, gen), nn.BatchNorm1d(120), nn.ReLU(),
        AsymLinear(120, 84, False, mode, gen), nn.BatchNorm1d(84), nn.ReLU(),
        AsymLinear(84, classes, True, mode, gen))


def mlp(widths, features, classes, mode, gen):
    layers, prev = [], features
    for w in widths:
        layers += [AsymLinear(prev, w, False, mode, gen), nn.BatchNorm1d(w), nn.ReLU()]
        prev = w
    layers.append(AsymLinear(prev, classes, True, mode, gen))
    return nn.Sequential(*layers)


# ---------------------------------------------------------------- data

def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = data[0:2], data[2], data[3]
    if zero != b"\0\0" or dtype != 0x08:
        raise SystemExit(f"{path}: not an unsigned-byte IDX file (magic {data[:4].hex()})")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(data[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def load_mnist(directory):
    for stem in ("train-images-idx3-ubyte", "train-images.idx3-ubyte"):
        for ext in (".gz", ""):
            p = os.path.join(directory, stem + ext)
            if os.path.exists(p):
                images = read_idx(p)
                labels = read_idx(p.replace("images-idx3", "labels-idx1").replace("images.idx3", "labels.idx1"))
                return images.reshape(-1, 1, 28, 28), labels.long(), p
    raise SystemExit(f"--data {directory}: no train-images-idx3-ubyte[.gz] there")


def synthetic(n, gen):
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 10, (n,), generator=gen)
    return images, labels, f"synthetic {n}x1x28x28 uint8"


# ---------------------------------------------------------------- the benchmark

def sign_grads(params):
    # Batch Manhattan: d = sign(g) (+ weight decay, added by the optimizer), then momentum as SGD.
    for p in params:
        if p.grad is not None:
            torch.sign(p.grad, out=p.grad)


def check_custom_backward(gen):
    """With V = W the custom Functions must give autograd's own gradients (validate before timing)."""
    worst = 0.0
    x = torch.randn(8, 3, 12, 12, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.randn(5, 3, 5, 5, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(5, generator=gen, dtype=torch.float64, requires_grad=True)
    g = torch.randn(8, 5, 10, 10, generator=gen, dtype=torch.float64)
    ref = torch.autograd.grad(F.conv2d(x, w, b, padding=1), (x, w, b), g)
    got = torch.autograd.grad(AsymConvFn.apply(x, w, b, FeedbackV("bp"), 1), (x, w, b), g)
    xl = torch.randn(8, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    wl = torch.randn(4, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    bl = torch.randn(4, generator=gen, dtype=torch.float64, requires_grad=True)
    gl = torch.randn(8, 4, generator=gen, dtype=torch.float64)
    ref += torch.autograd.grad(F.linear(xl, wl, bl), (xl, wl, bl), gl)
    got += torch.autograd.grad(AsymLinearFn.apply(xl, wl, bl, FeedbackV("bp")), (xl, wl, bl), gl)
    for r, q in zip(ref, got):
        worst = max(worst, ((r - q).abs() / r.abs().clamp_min(1e-12)).max().item())
    if worst > 1e-9:
        raise SystemExit(f"custom backward differs from autograd's by relative {worst:g}")
    return worst


def blas_kernel():
    try:
        import threadpoolctl
        info = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
        return info[0].get("architecture") if info else "none loaded"
    except ImportError:
        return "unknown (no threadpoolctl)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="lenet", help="lenet or mlp:W1-W2-... (mlp = mlp:1024-1024-1024)")
    ap.add_argument("--mode", default="brsf", help="bp, usf, brsf, frsf")
    ap.add_argument("--update", default="sgd", choices=["sgd", "bm"])
    ap.add_argument("--batch", type=int, default=0, help="default 64 (lenet), 128 (mlp)")
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--momentum", type=float, default=0.9)
    ap.add_argument("--weight-decay", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=30, help="at least this many untimed steps first")
    ap.add_argument("--warmup-seconds", type=float, default=2.0, help="and untimed steps for at least this long")
    ap.add_argument("--seconds", type=float, default=8.0, help="time steps for about this long")
    ap.add_argument("--steps", type=int, default=0, help="time exactly this many steps instead")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--data", default="synthetic", help="synthetic or a directory with MNIST IDX files")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--profile", type=int, default=0, help="after timing, profile this many steps (torch.profiler)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:
        pass
    gen = torch.Generator().manual_seed(a.seed)
    torch.manual_seed(a.seed)
    check_err = check_custom_backward(gen)

    if a.data == "synthetic":
        images, labels, source = synthetic(60000, gen)
    else:
        images, labels, source = load_mnist(a.data)
    n, classes = images.shape[0], 10
    scaled = images.float().div(255)
    mean, std = scaled.mean().item(), scaled.std().item()
    del scaled

    if a.model == "lenet":
        model, batch = lenet(a.mode, classes, gen), a.batch or 64
    elif a.model.startswith("mlp"):
        spec = a.model.split(":", 1)[1] if ":" in a.model else "1024-1024-1024"
        widths = [int(s) for s in spec.split("-")]
        model, batch = mlp(widths, 28 * 28, classes, a.mode, gen), a.batch or 128
        images = images.reshape(n, -1)
    else:
        raise SystemExit(f"--model: unknown model '{a.model}' (lenet, mlp, mlp:W1-W2-...)")
    model.train()
    params = list(model.parameters())
    opt = torch.optim.SGD(params, lr=a.lr, momentum=a.momentum, weight_decay=a.weight_decay)

    state = {"perm": torch.randperm(n, generator=gen), "pos": 0}

    def step():
        if state["pos"] + batch > n:  # a new epoch: a new order, drop the last partial batch
            state["perm"], state["pos"] = torch.randperm(n, generator=gen), 0
        idx = state["perm"][state["pos"]:state["pos"] + batch]
        state["pos"] += batch
        x = images[idx].float().div_(255).sub_(mean).div_(std)
        y = labels[idx]
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.update == "bm":
            sign_grads(params)
        opt.step()
        return loss.item()  # the engine reads each step's loss back too

    warm, t0 = 0, time.perf_counter()
    while warm < a.warmup or time.perf_counter() - t0 < a.warmup_seconds:
        loss = step()
        warm += 1
    for r in range(a.repeat):
        steps, t0 = 0, time.perf_counter()
        while True:
            loss = step()
            steps += 1
            elapsed = time.perf_counter() - t0
            if (a.steps and steps >= a.steps) or (not a.steps and elapsed >= a.seconds):
                break
        print(json.dumps({
            "impl": "pytorch", "model": a.model, "mode": a.mode, "update": a.update, "batch": batch,
            "steps": steps, "seconds": round(elapsed, 4), "ms_per_step": round(1000 * elapsed / steps, 4),
            "images_per_s": round(steps * batch / elapsed, 1), "loss": round(loss, 4),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "blas_kernel": blas_kernel(),
            "data": source, "rep": r, "check_rel_err": check_err,
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
            "python": platform.python_version()}), flush=True)

    if a.profile > 0:
        from torch.profiler import ProfilerActivity, profile
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            for _ in range(a.profile):
                step()
            ms = 1000 * (time.perf_counter() - t0) / a.profile
        print(f"profile pytorch {a.model} {a.mode} b{batch}: {ms:.3f} ms/step under torch.profiler "
              f"(OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')})")
        print("| op (self CPU time) | ms/step | calls/step | share |")
        print("|---|---:|---:|---:|")
        rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in rows)
        for e in rows[:15]:
            print(f"| {e.key} | {e.self_cpu_time_total / 1000 / a.profile:.3f} | {e.count / a.profile:.1f} | "
                  f"{100 * e.self_cpu_time_total / total:.1f}% |")
        print(f"| **all ops** | {total / 1000 / a.profile:.3f} | | 100% |")


if __name__ == "__main__":
    sys.exit(main())
