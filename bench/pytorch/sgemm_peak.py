#!/usr/bin/python3
"""OpenBLAS SGEMM rate on this machine, the same-run reference for asymbp's product (ProductRate).

For each shape MxKxN: y = x @ w.T in float32 (numpy, and torch.mm: both call OpenBLAS sgemm here),
checked against float64, then the best of five ~0.3 s rounds. Prints one JSON line per shape and
library, with the OpenBLAS kernel threadpoolctl reports. Run with 2 threads (OPENBLAS_NUM_THREADS=2).
"""
import json
import sys
import time

import numpy as np


def kernel():
    try:
        import threadpoolctl
        info = [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]
        return ", ".join(f"{i['architecture']} {i['num_threads']} threads {i['filepath'].rsplit('/', 1)[-1]}" for i in info)
    except ImportError:
        return "unknown (no threadpoolctl)"


def rate(fn, flop):
    deadline = time.perf_counter() + 1.0
    while time.perf_counter() < deadline:
        fn()
    best = 0.0
    for _ in range(5):
        calls, t0 = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            t = time.perf_counter()
            if t - t0 >= 0.3:
                break
        best = max(best, calls * flop / (t - t0))
    return best / 1e9


def main(shapes):
    rng = np.random.default_rng(1)
    for shape in shapes:
        m, k, n = (int(s) for s in shape.split("x"))
        x = rng.uniform(-1, 1, (m, k)).astype(np.float32)
        w = rng.uniform(-1, 1, (n, k)).astype(np.float32)
        ref = x.astype(np.float64) @ w.astype(np.float64).T
        mag = np.abs(x).astype(np.float64) @ np.abs(w).astype(np.float64).T
        got = x @ w.T
        err = float(np.max(np.abs(got - ref) / mag))
        if not err < 1e-5:
            raise SystemExit(f"numpy sgemm {shape} wrong: relative error {err:g}")
        print(json.dumps({"impl": "numpy", "op": "x @ w.T", "shape": shape,
                          "gflops": round(rate(lambda: x @ w.T, 2.0 * m * n * k), 1),
                          "numpy": np.__version__, "blas": kernel(), "check_rel_err": err}), flush=True)
        try:
            import torch
            torch.set_num_threads(2)
            tx, tw = torch.from_numpy(x), torch.from_numpy(w)
            out = torch.empty(m, n)
            print(json.dumps({"impl": "torch", "op": "torch.mm(x, w.t())", "shape": shape,
                              "gflops": round(rate(lambda: torch.mm(tx, tw.t(), out=out), 2.0 * m * n * k), 1),
                              "torch": torch.__version__}), flush=True)
        except ImportError:
            pass


if __name__ == "__main__":
    main(sys.argv[1:] or ["1024x1024x1024", "128x1024x1024"])
