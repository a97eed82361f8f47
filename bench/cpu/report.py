#!/usr/bin/python3
"""Turns compare.sh's raw JSON lines (and its profile tables) into bench/results/cpu-<date>.md."""
import json
import os
import platform
import re
import statistics
import subprocess
import sys

TARGETS = {"lenet": 1.5, "mlp": 2.0}  # ours / PyTorch, training images/s (the targets)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception as e:  # a missing tool only costs a line of the machine description
        return f"({e})"


def lscpu_field(name):
    m = re.search(rf"^{name}:\s*(.+)$", sh("lscpu"), re.M)
    return m.group(1) if m else "?"


def fmt(v, digits=0):
    return f"{v:,.{digits}f}"


def main(log_path, profile_path, args):
    rows = [json.loads(line) for line in open(log_path) if line.startswith("{")]
    meta = {r["meta"]: r for r in rows if "meta" in r}
    runs = [r for r in rows if "images_per_s" in r]
    gemm = [r for r in rows if "gflops" in r]

    out = []
    p = out.append
    p(f"# CPU training throughput: asymbp vs PyTorch ({meta.get('start', {}).get('time', '?')[:10]})")
    p("")
    p(f"Made by `bench/cpu/compare.sh{(' ' + args) if args else ''}` "
      f"(REPS={os.environ.get('REPS', '3')}, RUN_SECONDS={os.environ.get('RUN_SECONDS', '5')}, "
      f"WARMUP_SECONDS={os.environ.get('WARMUP_SECONDS', '3')}, DATA={os.environ.get('DATA', 'synthetic')}, "
      f"BLAS_ENV={os.environ.get('BLAS_ENV', 'native')}, NICE={os.environ.get('NICE') or 'none'}, "
      f"PY_OMP_WAITS={os.environ.get('PY_OMP_WAITS', 'PASSIVE default')}), "
      f"{meta.get('start', {}).get('time', '?')} to {meta.get('end', {}).get('time', '?')}.")
    p("")
    p("## Machine and conditions")
    p("")
    torch_v = next((r.get("torch") for r in runs if r.get("torch")), "?")
    blas = next((r.get("blas_kernel") for r in runs if r.get("blas_kernel")), "?")
    numpy_blas = next((r.get("blas") for r in gemm if r.get("blas")), "?")
    cpus, tpc = lscpu_field(r"CPU\(s\)"), lscpu_field(r"Thread\(s\) per core")
    mem = sh("free -g | awk '/Mem:/ {print $2}'")
    p(f"- CPU: {lscpu_field('Model name')}, {cpus} cores "
      f"({tpc} thread per core), {lscpu_field('Hypervisor vendor')} guest; "
      f"L2 {lscpu_field('L2 cache')}, L3 {lscpu_field('L3 cache')}; AVX-512: "
      f"{'yes' if 'avx512f' in sh('grep -m1 flags /proc/cpuinfo') else 'no'}")
    p(f"- Memory: {mem} GiB; OS: {sh('. /etc/os-release && echo $PRETTY_NAME')}")
    p(f"- JDK: {sh(os.environ.get('JAVA', 'java') + ' -version 2>&1 | head -1')}; engine backend: "
      f"{next((r.get('backend') for r in runs if r.get('impl') == 'asymbp'), '?')}")
    p(f"- PyTorch {torch_v} (Debian python3-torch, Python {platform.python_version()}), 2 intra-op threads, "
      f"OpenBLAS kernel {blas}; numpy's OpenBLAS: {numpy_blas}")
    p(f"- Load average (1, 5, 15 min) at start {meta.get('start', {}).get('load', '?')}, at end "
      f"{meta.get('end', {}).get('load', '?')}. The 2 cores are shared with other work, so absolute images/s "
      f"are noisy; the ratios pair runs made back to back (A B, then B A).")
    quiet = [r for r in rows if r.get("meta") == "quiet"]
    if quiet:
        limit = int(os.environ.get("QUIET_PCT", "15"))
        busy = [q for q in quiet if q["busy_pct_before"] > limit]
        p(f"- Before each pair the script waited for other work to fall under {limit}% of the CPUs "
          f"(at most {os.environ.get('QUIET_WAIT', '90')} s): CPU use by others just before each pair: "
          f"{', '.join(str(q['busy_pct_before']) + '%' for q in quiet)}; waited {sum(q['waited_s'] for q in quiet)} s "
          f"in all; {len(busy)} of {len(quiet)} started busy anyway.")
    p("")

    p("## Training throughput (images/s; one training step = gather + forward + loss + asymmetric backward + update + loss read back)")
    p("")
    p("| model | batch | mode | PyTorch (OpenMP wait) | PyTorch median (min–max) | asymbp median (min–max) | ours / PyTorch, median of pairs (min–max) | target | verdict |")
    p("|---|---:|---|---|---:|---:|---:|---:|---|")
    notes = []
    ms_notes = []
    keys = list(dict.fromkeys((r["model"], r["mode"]) for r in runs))
    limit = int(os.environ.get("QUIET_PCT", "15"))
    busy_of = {q.get("label"): q["busy_pct_before"] > limit for q in quiet}
    for model, mode in keys:
        us_all = [r for r in runs if r["impl"] == "asymbp" and (r["model"], r["mode"]) == (model, mode)]
        py_model = [r for r in runs if r["impl"] == "pytorch" and (r["model"], r["mode"]) == (model, mode)]
        variants = list(dict.fromkeys(r.get("omp_wait_policy", "default") for r in py_model))
        if not us_all or not py_model:
            continue
        # Pair k ran after the quiet check labelled "<model> <mode> rep k+1". Pairs that started on a busy
        # machine are left out when quiet ones exist: contention slows PyTorch's OpenMP threads far more
        # than ours, so a busy pair flatters asymbp.
        busy = [busy_of.get(f"{model} {mode} rep {k + 1}", False) for k in range(len(us_all))]
        keep = [k for k in range(len(us_all)) if not busy[k]] or list(range(len(us_all)))
        dropped = len(us_all) - len(keep)
        if dropped or any(busy):
            notes.append(f"{model} {mode}: " + (f"{dropped} busy pair(s) left out" if dropped
                                                 else "every pair started busy: all kept"))
        us = [us_all[k] for k in keep]
        ui = [r["images_per_s"] for r in us]
        target = TARGETS.get(model.split(":")[0])
        ms = [f"asymbp {statistics.median(r['ms_per_step'] for r in us):.2f}"]
        for v in variants:
            py_all = [r for r in py_model if r.get("omp_wait_policy", "default") == v]
            py = [py_all[k] for k in keep if k < len(py_all)]
            pairs = [u["images_per_s"] / q["images_per_s"] for u, q in zip(us, py)]
            if not pairs:
                continue
            ratio = statistics.median(pairs)
            pi = [r["images_per_s"] for r in py]
            if target:
                verdict = "met" if ratio >= target else f"missed: needs {target / ratio:.2f}× more speed"
            else:
                verdict = "—"
            if not dropped and any(busy):
                verdict = (f"{verdict} (busy machine; both sides at nice {os.environ['NICE']})" if os.environ.get("NICE")
                           else "not valid: measured on a busy machine (" + verdict + ")")
            p(f"| {model} | {us[0]['batch']} | {mode} | {v} | {fmt(statistics.median(pi))} ({fmt(min(pi))}–{fmt(max(pi))}) | "
              f"{fmt(statistics.median(ui))} ({fmt(min(ui))}–{fmt(max(ui))}) | **{ratio:.2f}×** "
              f"({min(pairs):.2f}–{max(pairs):.2f}) | ≥ {target}× | {verdict} |")
            ms.append(f"PyTorch {v} {statistics.median(r['ms_per_step'] for r in py):.2f}")
        ms_notes.append(f"{model} {mode}: " + ", ".join(ms) + " ms")
    p("")
    p("PyTorch variants: `PASSIVE` runs with OMP_WAIT_POLICY=PASSIVE (its OpenMP threads sleep while they wait; "
      "PyTorch's fastest setting found here); `default` is stock PyTorch (its threads spin, which costs it "
      "heavily when the cores are shared, even with its own OpenBLAS threads).")
    p("")
    if notes:
        p("Pairs: " + "; ".join(notes) + ".")
        p("")
    p("ms per step (medians): " + "; ".join(ms_notes) + ".")
    p("")

    p("## SGEMM (the product kernel), GFLOP/s, 2 threads, best of the run")
    p("")
    p("| shape M×K×N (y = x·Wᵀ) | OpenBLAS via numpy | OpenBLAS via torch.mm | asymbp linearForward | asymbp / best OpenBLAS |")
    p("|---|---:|---:|---:|---:|")
    for shape in dict.fromkeys(r["shape"] for r in gemm):
        best = {impl: max([r["gflops"] for r in gemm if r["shape"] == shape and r["impl"] == impl], default=float("nan"))
                for impl in ("numpy", "torch", "asymbp")}
        ob = max(best["numpy"], best["torch"])
        p(f"| {shape} | {best['numpy']:.1f} | {best['torch']:.1f} | {best['asymbp']:.1f} | **{best['asymbp'] / ob:.0%}** |")
    p("")
    p("The OpenBLAS figure is this machine's practical FP32 peak, measured in the same run (best of numpy and "
      "torch.mm, both OpenBLAS sgemm). The fraction is asymbp's rate over that peak.")
    p("")

    if os.path.exists(profile_path) and os.path.getsize(profile_path) > 0:
        p("## Where the step time goes (asymbp op by op; PyTorch by torch.profiler)")
        p("")
        p("asymbp: each backend op is timed with a sync after it (`TrainThroughput --profile N`), so the profiled "
          "step is a little slower than the timed one; the shares are what count. GFLOP/s counts the products "
          "(forward 2·M·K·N; backward twice that, once without dx). PyTorch: self CPU time per op under "
          "torch.profiler (`train_bench.py --profile N`).")
        p("")
        for line in open(profile_path):
            line = line.rstrip("\n")
            if line.startswith("profile "):
                p("**" + line + "**")
                p("")
            else:
                p(line)
        p("")
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
