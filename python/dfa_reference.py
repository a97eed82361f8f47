#!/usr/bin/env python3
"""One direct-feedback-alignment (dfa) backward in PyTorch, float64: the reference for the engine's dfa.

    python3 python/dfa_reference.py DIR

DIR holds model.json ({"model", "channels", "height", "width", "classes", "bn"}), x.npy (batch x C*H*W),
labels.npy, the parameters under their state_dict names (<name>.npy) and B_<layer>.npy (classes x that
weight layer's input features) for every weight layer whose input gradient dfa replaces. Writes
grad_<name>.f64 (raw little-endian float64, C order) for every parameter.

dfa (docs/spec.md section 3): with e = dLoss/dlogits (mean cross-entropy), the gradient reaching the input
of weight layer l is e @ B_l (reshaped NCHW for a convolution), whatever the layers above computed;
every weight's own gradient is the ordinary one from its output gradient. Written here with autograd: an
identity in front of each such layer whose backward returns e @ B_l (BioTorch's dfa hook, in effect).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from asymbp_torch import AsymbpNet  # noqa: E402


class DirectFeedback(torch.autograd.Function):
    """Identity forward; backward: the output error projected by B, replacing the incoming gradient."""

    @staticmethod
    def forward(ctx, x, b, holder):
        ctx.b, ctx.holder, ctx.shape = b, holder, x.shape
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return (ctx.holder["e"] @ ctx.b).reshape(ctx.shape), None, None


def main(d):
    with open(os.path.join(d, "model.json")) as f:
        m = json.load(f)
    model = AsymbpNet(m["model"], m["channels"], m["height"], m["width"], m["classes"], m["bn"]).double()
    model.train()
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(torch.from_numpy(np.load(os.path.join(d, name + ".npy"))).double())
    holder = {}
    for name, module in model.named_children():
        path = os.path.join(d, "B_" + name + ".npy")
        if os.path.isfile(path):
            b = torch.from_numpy(np.load(path)).double()
            module.register_forward_pre_hook(lambda mod, args, b=b: (DirectFeedback.apply(args[0], b, holder),))
    x = torch.from_numpy(np.load(os.path.join(d, "x.npy"))).double()
    labels = torch.from_numpy(np.load(os.path.join(d, "labels.npy"))).long()
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    holder["e"] = torch.autograd.grad(loss, logits, retain_graph=True)[0]
    loss.backward()
    for name, p in params.items():
        p.grad.numpy().astype("<f8").tofile(os.path.join(d, "grad_" + name + ".f64"))  # raw float64, C order
    print(f"dfa reference: {m['model']} bn {m['bn']}, loss {loss.item():.6f}, {len(params)} gradients")


if __name__ == "__main__":
    main(sys.argv[1])
