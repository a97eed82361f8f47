#!/usr/bin/env python3
"""PyTorch peer of asymbp.cuda.GpuBench: the same models, modes and step, timed on the same GPU.

Models (docs/spec.md §6, BN on, as asymbp builds them):
  lenet  conv 6@5x5 pad 2, BN, ReLU, pool 2 -> conv 16@5x5, BN, ReLU, pool 2 -> fc 120, BN, ReLU
         -> fc 84, BN, ReLU -> fc 10   (a weight layer followed by BN has no bias), batch 64
  mlp    784 -> 4096 x4 (BN, ReLU) -> 10, batch 1024, TF32 off
Modes: bp (V = W) and brsf (V = M_t * sign(W), M_t ~ U(0,1) drawn anew every step). The asymmetric
layers are torch.autograd.Functions whose backward sends the error through V made from W in that
step; W's own gradient is the ordinary one. M_t comes from torch's generator, not asymbp's Philox:
the work done is the same, the random bits are not (this script measures speed, not numerics).
One step = gather the batch from uint8 images on the device and standardise, forward, softmax
cross-entropy, backward, SGD (momentum 0.9, weight decay 1e-4, lr 0.01) - what GpuBench times.

  python3 bench/gpu/torch_bench.py [--quick] [--no-compile] [--json FILE]
  python3 bench/gpu/torch_bench.py --smoke     # no GPU: every model and mode for 3 steps on the CPU
                                               # (checks this script; times nothing)
"""
import argparse
import json
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer steps")
    ap.add_argument("--no-compile", action="store_true", help="skip torch.compile (saves minutes)")
    ap.add_argument("--compile-mlp", action="store_true", help="also torch.compile the MLP")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--smoke", action="store_true", help="no GPU: run every model and mode 3 steps on the CPU")
    args = ap.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"torch_bench: PyTorch not importable ({e})", file=sys.stderr)
        return 3
    if args.smoke:
        return smoke(torch)
    if not torch.cuda.is_available():
        print("torch_bench: torch.cuda.is_available() is False (no GPU or no CUDA build)", file=sys.stderr)
        return 3
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    results = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__}

    def put(k, v):
        results[k] = v
        print(f"RESULT {k} {v:.6g}", flush=True)
        if args.json:  # rewritten after every number, so a time limit keeps what was measured
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)

    put("torch_copy_gbps", copy_bandwidth(torch, 10 if args.quick else 40))
    put("torch_gemm_1024x4096x4096_gflops", gemm_gflops(torch, 10 if args.quick else 30))
    lenet_steps, mlp_steps = (100, 10) if args.quick else (400, 40)
    # Eager first, torch.compile last: it is the slowest and the first a time limit should cut.
    for fb in ("bp", "brsf"):
        put(f"torch_lenet_{fb}_eager_ms", step_time(torch, "lenet", fb, 64, lenet_steps, compiled=False))
        put(f"torch_mlp_{fb}_eager_ms", step_time(torch, "mlp", fb, 1024, mlp_steps, compiled=False))
    if not args.no_compile:
        for fb in ("bp", "brsf"):
            put(f"torch_lenet_{fb}_compile_ms", step_time(torch, "lenet", fb, 64, lenet_steps, compiled=True))
        if args.compile_mlp:
            for fb in ("bp", "brsf"):
                put(f"torch_mlp_{fb}_compile_ms", step_time(torch, "mlp", fb, 1024, mlp_steps, compiled=True))
    return 0


def copy_bandwidth(torch, reps):
    n = 64 << 20
    a = torch.ones(n, device="cuda")
    c = torch.empty_like(a)
    for _ in range(3):
        c.copy_(a)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        c.copy_(a)
    torch.cuda.synchronize()
    s = (time.perf_counter() - t0) / reps
    return 2.0 * n * 4 / s / 1e9


def gemm_gflops(torch, reps):
    """y = x @ w.T at batch 1024, 4096 -> 4096 (cuBLAS, TF32 off): the peer of our linear_forward."""
    x = torch.rand(1024, 4096, device="cuda") * 2 - 1
    w = torch.rand(4096, 4096, device="cuda") * 2 - 1
    for _ in range(3):
        torch.nn.functional.linear(x, w)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.nn.functional.linear(x, w)
    torch.cuda.synchronize()
    return 2.0 * 1024 * 4096 * 4096 / ((time.perf_counter() - t0) / reps) / 1e9


def feedback_matrix(torch, w, mode):
    """V made from W for this step: W itself (bp) or M_t * sign(W) with fresh M_t (brsf)."""
    if mode == "bp":
        return w
    return torch.rand_like(w) * torch.sign(w)


def build(torch, model, mode):
    nn, F = torch.nn, torch.nn.functional

    class AsymLinearFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w)
            ctx.has_bias = b is not None
            y = x @ w.t()
            return y + b if b is not None else y

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            dx = g @ feedback_matrix(torch, w, mode)
            dw = g.t() @ x
            db = g.sum(0) if ctx.has_bias else None
            return dx, dw, db

    class AsymConvFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w, b, pad):
            ctx.save_for_backward(x, w)
            ctx.pad = pad
            ctx.has_bias = b is not None
            return F.conv2d(x, w, b, stride=1, padding=pad)

        @staticmethod
        def backward(ctx, g):
            x, w = ctx.saved_tensors
            v = feedback_matrix(torch, w, mode)
            dx = torch.nn.grad.conv2d_input(x.shape, v, g, stride=1, padding=ctx.pad)
            dw = torch.nn.grad.conv2d_weight(x, w.shape, g, stride=1, padding=ctx.pad)
            db = g.sum((0, 2, 3)) if ctx.has_bias else None
            return dx, dw, db, None

    class AsymLinear(nn.Module):
        def __init__(self, i, o, bias):
            super().__init__()
            ref = nn.Linear(i, o, bias=bias)  # PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)) init
            self.weight = ref.weight
            self.bias = ref.bias

        def forward(self, x):
            return AsymLinearFn.apply(x, self.weight, self.bias)

    class AsymConv(nn.Module):
        def __init__(self, i, o, k, pad, bias):
            super().__init__()
            ref = nn.Conv2d(i, o, k, padding=pad, bias=bias)
            self.weight = ref.weight
            self.bias = ref.bias
            self.pad = pad

        def forward(self, x):
            return AsymConvFn.apply(x, self.weight, self.bias, self.pad)

    if model == "lenet":
        return nn.Sequential(
            AsymConv(1, 6, 5, 2, False), nn.BatchNorm2d(6), nn.ReLU(), nn.MaxPool2d(2),
            AsymConv(6, 16, 5, 0, False), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            AsymLinear(400, 120, False), nn.BatchNorm1d(120), nn.ReLU(),
            AsymLinear(120, 84, False), nn.BatchNorm1d(84), nn.ReLU(),
            AsymLinear(84, 10, True))
    layers, width = [nn.Flatten()], 784
    for _ in range(4):
        layers += [AsymLinear(width, 4096, False), nn.BatchNorm1d(4096), nn.ReLU()]
        width = 4096
    layers.append(AsymLinear(width, 10, True))
    return nn.Sequential(*layers)


class SmokeFailure(Exception):
    pass


def require(ok, what):
    """An explicit check (assert statements vanish under python -O)."""
    if not ok:
        raise SmokeFailure(what)


def with_torch_layers(torch, net):
    """A copy of net whose asymmetric layers are torch's own linear/conv (same weights): plain backprop."""
    import copy
    F = torch.nn.functional
    ref = copy.deepcopy(net)
    for m in ref.modules():
        if type(m).__name__ == "AsymConv":
            m.forward = (lambda mod: lambda x: F.conv2d(x, mod.weight, mod.bias, padding=mod.pad))(m)
        elif type(m).__name__ == "AsymLinear":
            m.forward = (lambda mod: lambda x: F.linear(x, mod.weight, mod.bias))(m)
    return ref


def gradients(torch, net, x):
    x = x.clone().requires_grad_(True)
    net.zero_grad(set_to_none=True)
    net(x).square().sum().backward()
    return x.grad, [p.grad for p in net.parameters()]


def check_feedback(torch, model):
    """bp through the custom Functions equals torch's autograd; brsf changes the error passed back but
    not the last layer's weight gradient (its error is the loss gradient itself)."""
    torch.manual_seed(3)
    x = torch.randn(6, 1, 28, 28)
    bp = build(torch, model, "bp")
    gx, gp = gradients(torch, bp, x)
    rx, rp = gradients(torch, with_torch_layers(torch, bp), x)
    require(torch.allclose(gx, rx, rtol=1e-4, atol=1e-6), f"{model} bp: input gradient differs from autograd's")
    for i, (a, b) in enumerate(zip(gp, rp)):
        require(torch.allclose(a, b, rtol=1e-4, atol=1e-6), f"{model} bp: parameter {i} gradient differs from autograd's")
    brsf = build(torch, model, "brsf")
    brsf.load_state_dict(bp.state_dict())
    fx, fp = gradients(torch, brsf, x)
    require(not torch.allclose(fx, gx, rtol=1e-3, atol=1e-6), f"{model} brsf: the error passed back equals bp's")
    require(torch.allclose(fp[-2], gp[-2], rtol=1e-4, atol=1e-6), f"{model} brsf: the last weight gradient differs from bp's")


def smoke(torch):
    """No GPU: the custom backward against autograd, then the models, modes and step on the CPU, small:
    finite losses and every weight moving."""
    try:
        for model, batch in (("lenet", 8), ("mlp", 8)):
            check_feedback(torch, model)
            for mode in ("bp", "brsf"):
                ms = step_time(torch, model, mode, batch, 3, compiled=False, device="cpu", check=True)
                print(f"smoke {model} {mode}: 3 steps, {ms:.1f} ms/step on the CPU", flush=True)
    except SmokeFailure as e:
        print(f"smoke: FAILED: {e}", file=sys.stderr)
        return 1
    print("smoke: PASSED")
    return 0


def step_time(torch, model, mode, batch, steps, compiled, device="cuda", check=False):
    torch.manual_seed(7)
    net = build(torch, model, mode).to(device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    n = batch * 16
    images = torch.randint(0, 256, (n, 1, 28, 28), dtype=torch.uint8, device=device)
    labels = torch.arange(n, device=device) % 10
    order = (torch.arange(n, device=device) * 7919) % n
    mean, inv_std = 0.5, 3.5

    def fwd_loss(x, y):
        return torch.nn.functional.cross_entropy(net(x), y)

    fn = torch.compile(fwd_loss) if compiled else fwd_loss

    def step(i):
        idx = order[(i % 16) * batch:(i % 16 + 1) * batch]
        x = (images[idx].float() / 255.0 - mean) * inv_std
        loss = fn(x, labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    if check:
        before = [p.detach().clone() for p in net.parameters()]
        losses = [float(step(i)) for i in range(steps)]
        require(all(l == l and abs(l) < 1e6 for l in losses), f"{model} {mode}: losses {losses}")
        moved = sum(int(not torch.equal(a, p.detach())) for a, p in zip(before, net.parameters()))
        require(moved == len(before), f"{model} {mode}: only {moved} of {len(before)} parameter tensors changed")
    warm = max(5, steps // 10) + (10 if compiled else 0) if not check else 1
    for i in range(warm):
        step(i)
    sync()
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    sync()
    return (time.perf_counter() - t0) * 1e3 / steps


if __name__ == "__main__":
    sys.exit(main())
