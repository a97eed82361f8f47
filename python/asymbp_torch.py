#!/usr/bin/env python3
"""asymbp runs in PyTorch: the engine's models under its exported names, and its input standardisation.

    import asymbp_torch
    model, norm = asymbp_torch.load_run("runs/20261206-080000")   # the run folder or its weights/
    logits = model(norm(images))          # images: uint8, N x C x H x W or N x (C*H*W), as the dataset

`load_run` rebuilds the net from weights/model.json, loads every weights/*.npy with
`load_state_dict(strict=True)` (BN running statistics and num_batches_tracked included) and returns it
in evaluation mode, which is how the engine computes its test error. `norm` standardises raw pixels
exactly as the engine's gather_standardize does: x = (pixel / 255 - mean[c]) * inv_std[c] in float32.
The models and files are described in docs/spec.md (section 6). Only torch and numpy are needed.

As a script it prints a run's test error:

    python3 python/asymbp_torch.py RUN_DIR... --idx IMAGES LABELS    # IDX files, gzipped or not
    python3 python/asymbp_torch.py RUN_DIR... --npy IMAGES LABELS    # .npy arrays
"""
import argparse
import gzip
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["AsymbpNet", "Normalisation", "load_run", "standardize", "count_errors", "read_idx"]


class AsymbpNet(nn.Module):
    """The engine's network (asymbp.model.Net) with its parameter names.

    Weight layers are numbered from 1 in order, convolutions `convK` and linear layers `fcK`; with BN,
    every hidden weight layer K has no bias and is followed by `bnK`. ReLU follows the BN, or the weight
    layer itself without BN; the last layer has neither. Max-pool is 2x2, stride 2.
      mlp:W1-W2-...  fc1 (C*H*W -> W1), ..., fc(n+1) (-> classes)
      lenet          conv1 6@5x5 pad 2, pool, conv2 16@5x5, pool, fc3 120, fc4 84, fc5 classes
      lenet-biotorch conv1 6@5x5 pad 2, pool, conv2 16@5x5, pool, conv3 120@5x5, fc4 84 (no BN, no ReLU),
                     fc5 classes
      cifar          conv1 32@5x5 pad 2, pool, conv2 32@5x5 pad 2, pool, conv3 64@5x5 pad 2, pool,
                     fc4 64, fc5 classes
    """

    def __init__(self, model, channels, height, width, classes, bn=True, bn_eps=1e-5, bn_momentum=0.1):
        super().__init__()
        self.model = model
        self.input_shape = (channels, height, width)
        self._plan = []  # (kind, attribute name or None, relu after it)
        self._shape = [channels, height, width]
        self._bn, self._eps, self._momentum = bn, bn_eps, bn_momentum
        m = model.strip().lower()
        if m.startswith("mlp"):
            for w in parse_mlp(model):
                self._linear(w, hidden=True)
            self._linear(classes, hidden=False)
        elif m == "lenet":
            self._conv(6, 5, 2); self._pool()
            self._conv(16, 5, 0); self._pool()
            self._linear(120, True); self._linear(84, True); self._linear(classes, False)
        elif m == "lenet-biotorch":
            self._conv(6, 5, 2); self._pool()
            self._conv(16, 5, 0); self._pool()
            self._conv(120, 5, 0)
            self._linear(84, False); self._linear(classes, False)
        elif m == "cifar":
            self._conv(32, 5, 2); self._pool()
            self._conv(32, 5, 2); self._pool()
            self._conv(64, 5, 2); self._pool()
            self._linear(64, True); self._linear(classes, False)
        else:
            raise ValueError(f"model {model!r}: unknown (expected mlp:W1-W2-..., lenet, lenet-biotorch or cifar)")
        del self._shape

    def _weight_index(self):
        return 1 + sum(1 for kind, _, _ in self._plan if kind in ("conv", "fc"))

    def _conv(self, out, k, pad):
        c, h, w = self._shape
        if h + 2 * pad < k or w + 2 * pad < k:
            raise ValueError(f"model {self.model!r}: a {k}x{k} convolution does not fit {c}x{h}x{w}")
        i = self._weight_index()
        self.add_module(f"conv{i}", nn.Conv2d(c, out, k, stride=1, padding=pad, bias=not self._bn))
        self._plan.append(("conv", f"conv{i}", not self._bn))
        self._shape = [out, h + 2 * pad - k + 1, w + 2 * pad - k + 1]
        if self._bn:
            self.add_module(f"bn{i}", nn.BatchNorm2d(out, eps=self._eps, momentum=self._momentum))
            self._plan.append(("bn", f"bn{i}", True))

    def _linear(self, out, hidden):
        c, h, w = self._shape
        i = self._weight_index()
        use_bn = hidden and self._bn
        self.add_module(f"fc{i}", nn.Linear(c * h * w, out, bias=not use_bn))
        self._plan.append(("fc", f"fc{i}", hidden and not use_bn))
        self._shape = [out, 1, 1]
        if use_bn:
            self.add_module(f"bn{i}", nn.BatchNorm1d(out, eps=self._eps, momentum=self._momentum))
            self._plan.append(("bn", f"bn{i}", True))

    def _pool(self):
        c, h, w = self._shape
        if h < 2 or w < 2:
            raise ValueError(f"model {self.model!r}: max-pool 2 on {h}x{w}")
        self._plan.append(("pool", None, False))
        self._shape = [c, h // 2, w // 2]

    def forward(self, x):
        if x.dim() == 2 and self._plan[0][0] == "conv":
            x = x.reshape(x.shape[0], *self.input_shape)
        for kind, name, relu in self._plan:
            if kind == "pool":
                x = F.max_pool2d(x, 2)
                continue
            if kind == "fc" and x.dim() > 2:
                x = x.flatten(1)  # NCHW is contiguous: the engine's flatten is free
            x = getattr(self, name)(x)
            if relu:
                x = F.relu(x)
        return x


def parse_mlp(model):
    """The hidden widths of `mlp:W1-W2-...`."""
    m = model.strip()
    if not m.lower().startswith("mlp:") or len(m) == 4:
        raise ValueError(f"model {model!r}: needs hidden widths, as mlp:1024-1024")
    widths = []
    for part in m[4:].split("-"):
        if not part.strip().isdigit() or int(part) < 1:
            raise ValueError(f"model {model!r}: width {part!r} is not a positive integer")
        widths.append(int(part))
    return widths


def standardize(images, mean, inv_std, shape):
    """Raw pixels (integers 0..255; N x C x H x W or N x (C*H*W)) to the engine's network input:
    float32 (pixel / 255 - mean[c]) * inv_std[c], each operation rounded to float32 as the engine does."""
    a = np.asarray(images)
    if a.dtype != np.uint8:
        if a.size and (a.min() < 0 or a.max() > 255 or not np.all(a == np.round(a))):
            raise ValueError("images: expected integer pixel values 0..255")
        a = a.astype(np.uint8)
    c = shape[0]
    x = a.reshape(a.shape[0], c, -1).astype(np.float32) / np.float32(255)
    x = (x - np.asarray(mean, np.float32)[None, :, None]) * np.asarray(inv_std, np.float32)[None, :, None]
    return torch.from_numpy(np.ascontiguousarray(x.reshape(a.shape[0], *shape)))


class Normalisation:
    """A run's input standardisation: per-channel mean and inverse standard deviation of the training
    pixels scaled to [0,1], as the engine computed them (weights/input_mean.npy, input_inv_std.npy)."""

    def __init__(self, mean, inv_std, shape):
        self.mean, self.inv_std, self.shape = mean, inv_std, tuple(shape)

    def __call__(self, images):
        return standardize(images, self.mean, self.inv_std, self.shape)

    def __repr__(self):
        return f"Normalisation(mean={self.mean.tolist()}, inv_std={self.inv_std.tolist()}, shape={self.shape})"


def _weights_dir(path):
    for d in (path, os.path.join(path, "weights")):
        if os.path.isfile(os.path.join(d, "model.json")):
            return d
    raise FileNotFoundError(f"{path}: no model.json here or in weights/ (a finished asymbp run exports both)")


def load_run(path):
    """(model in evaluation mode, Normalisation) from a run folder or its weights/ folder."""
    d = _weights_dir(path)
    with open(os.path.join(d, "model.json")) as f:
        m = json.load(f)
    model = AsymbpNet(m["model"], m["channels"], m["height"], m["width"], m["classes"], m["bn"],
                      m["bn_eps"], m["bn_momentum"])
    names = set(model.state_dict())
    found = {f[:-4] for f in os.listdir(d) if f.endswith(".npy") and not f.startswith("input_")}
    if found != names:
        raise ValueError(f"{d}: tensors {sorted(found - names)} not in the model, "
                         f"{sorted(names - found)} missing (model {m['model']}, bn {m['bn']})")
    state = {n: torch.from_numpy(np.load(os.path.join(d, n + ".npy"))) for n in names}
    model.load_state_dict(state, strict=True)
    model.eval()
    norm = Normalisation(np.load(os.path.join(d, "input_mean.npy")), np.load(os.path.join(d, "input_inv_std.npy")),
                         model.input_shape)
    return model, norm


@torch.no_grad()
def count_errors(model, x, labels, batch=1000, tie=1e-4):
    """(misclassified, near ties) over standardised inputs x. The prediction is the first maximum of the
    logits, as the engine's; a near tie is an image whose two largest logits are closer than
    tie * (1 + |largest|), where float rounding in another library may pick the other class."""
    labels = np.asarray(labels).reshape(-1)
    wrong = ties = 0
    for s in range(0, len(labels), batch):
        z = model(x[s:s + batch]).numpy()
        wrong += int(np.sum(z.argmax(axis=1) != labels[s:s + batch]))
        top = np.sort(z, axis=1)
        ties += int(np.sum(top[:, -1] - top[:, -2] < tie * (1 + np.abs(top[:, -1]))))
    return wrong, ties


def read_idx(path):
    """An IDX file (MNIST's format; gzipped or not) as a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * dims)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: {data.size} bytes of data, the header says {shape}")
    return data.reshape(shape)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Test error of asymbp runs, computed by PyTorch.")
    ap.add_argument("runs", nargs="+", help="run folders (or their weights/ folders)")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--idx", nargs=2, metavar=("IMAGES", "LABELS"), help="IDX files, .gz or not")
    src.add_argument("--npy", nargs=2, metavar=("IMAGES", "LABELS"), help=".npy arrays")
    args = ap.parse_args(argv)
    read = read_idx if args.idx else np.load
    images, labels = (read(p) for p in (args.idx or args.npy))
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    for run in args.runs:
        model, norm = load_run(run)
        wrong, ties = count_errors(model, norm(images), labels)
        print(f"{run}: wrong {wrong} of {len(labels)} ({100.0 * wrong / len(labels):.2f} %), near ties {ties}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
