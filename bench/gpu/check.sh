#!/usr/bin/env bash
# The GPU check: one command on a GPU machine that has no Java and no network, from the repository
# root with dist/ (bench/gpu/package.sh) carried along. Under 8 minutes on an H100/H200.
#
#   bench/gpu/check.sh [--quick] [--require-gpu] [--plumbing]
#
# --plumbing runs every phase even without a GPU (they fail or skip with their one-line reasons):
# a dry run of the script itself on a machine without a GPU.
#
# 1. unpacks the jlinked JRE; prints nvidia-smi
# 2. CUDA tests (probe, artifacts) and the conformance suite on cuda (+ opencl through NVIDIA's ICD
#    if the driver ships libnvidia-opencl.so.1), with the JUnit console launcher
# 3. MNIST, LeNet+BN, brsf, 1 epoch on the cuda backend (CUDA-graph steps), then again with eager steps
# 4. asymbp.cuda.GpuBench (our step times, eager and CUDA graph; BN/update bandwidth) and
#    bench/gpu/torch_bench.py (PyTorch eager and torch.compile on the same models)
# 5. the table (bench/gpu/report.py), printed LAST, written to $OUT/gpu-report.md (if OUT is set) and
#    bench/results/gpu-<card>-<date>.md
# Without a GPU it says so and exits 0 (exit 2 with --require-gpu). On a GPU its exit status is report.py's:
# 1 when the tests, the MNIST run or a benchmark part failed. Each phase has a time limit; a
# failing phase is reported in the table and the script goes on.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
quick=0
require=0
plumbing=0
for a in "$@"; do
    case "$a" in
        --quick) quick=1 ;;
        --require-gpu) require=1 ;;
        --plumbing) plumbing=1 ;;
        *) echo "usage: bench/gpu/check.sh [--quick] [--require-gpu] [--plumbing]" >&2; exit 2 ;;
    esac
done
t_start=$(date +%s)
say() { echo "[check $(( $(date +%s) - t_start ))s] $*"; }

# ------------------------------------------------------------------------- is there a GPU?
gpu_reason=""
if ! command -v nvidia-smi >/dev/null 2>&1; then
    gpu_reason="nvidia-smi is not installed"
elif ! nvidia-smi -L >/dev/null 2>&1; then
    gpu_reason="nvidia-smi finds no usable GPU ($(nvidia-smi -L 2>&1 | head -1))"
elif ! ls /usr/lib*/libcuda.so.1 /usr/lib/*/libcuda.so.1 /usr/local/nvidia/lib*/libcuda.so.1 >/dev/null 2>&1 \
     && ! ldconfig -p 2>/dev/null | grep -q 'libcuda.so.1'; then
    gpu_reason="libcuda.so.1 (the NVIDIA driver library) is not installed"
fi
if [[ -n "$gpu_reason" && $plumbing -eq 1 ]]; then
    echo "check: NO GPU on this machine ($gpu_reason); --plumbing: running every phase anyway"
    nvidia-smi() { echo "no GPU (plumbing dry run)"; }
elif [[ -n "$gpu_reason" ]]; then
    echo "check: NO GPU on this machine: $gpu_reason. Nothing to check here; run this on a GPU machine."
    exit $(( require ? 2 : 0 ))
fi

[[ -f dist/jre.tar.gz && -f dist/asymbp.jar ]] || { echo "check: dist/ is missing; run bench/gpu/package.sh first and carry dist/" >&2; exit 2; }

work="$(mktemp -d)"
mkdir -p "$work/jre"
tar -C "$work/jre" -xzf dist/jre.tar.gz
JAVA=("$work/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx16g)
"${JAVA[@]}" -version 2>&1 | grep -i version | head -1

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader > "$work/smi.txt" 2>&1
nvidia-smi
card="$(head -1 "$work/smi.txt" | cut -d, -f1 | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | sed 's/-$//' | tr 'A-Z' 'a-z')"

# OpenCL through NVIDIA's ICD (optional): JOCL dlopens libOpenCL.so from dist/ocl.
if [[ -f dist/ocl/libOpenCL.so ]] && ldconfig -p 2>/dev/null | grep -q libnvidia-opencl.so.1; then
    export LD_LIBRARY_PATH="$root/dist/ocl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export OCL_ICD_VENDORS="$root/dist/ocl/vendors"
    say "OpenCL: using ocl-icd from dist/ocl with NVIDIA's libnvidia-opencl.so.1"
else
    say "OpenCL: NVIDIA's libnvidia-opencl.so.1 not found; the OpenCL tests use whatever platform this machine has (usually none: skipped)"
fi

# ------------------------------------------------------------------------------ 1. tests
say "tests: asymbp.cuda + asymbp.conformance (JUnit console)"
# On a GPU machine the CUDA tests must run: -Dasymbp.require=cuda turns a CUDA skip into a failure.
req=(-Dasymbp.require=cuda); [[ $plumbing -eq 1 ]] && req=()
timeout 200 "${JAVA[@]}" "${req[@]}" -jar dist/junit-console.jar execute --disable-banner --details=tree \
    --class-path dist/asymbp.jar:dist/asymbp-tests.jar \
    --select-package asymbp.cuda --select-package asymbp.conformance > "$work/conformance.txt" 2>&1
echo "tests exit code $?" >> "$work/conformance.txt"
grep -v -E '^\s+at ' "$work/conformance.txt" | tail -60

# ------------------------------------------------------------------------------- 2. MNIST
say "MNIST LeNet+BN brsf, 1 epoch, backend cuda"
timeout 120 "${JAVA[@]}" -jar dist/asymbp.jar train --dataset mnist --model lenet --feedback brsf --bn \
    --epochs 1 --backend cuda --out "$work/mnist-run" > "$work/mnist.txt" 2>&1
echo "train exit code $?" >> "$work/mnist.txt"
tail -5 "$work/mnist.txt"
say "the same run with every step eager (-Dasymbp.cuda.graph=false): what the CUDA graph buys the Trainer"
timeout 120 "${JAVA[@]}" -Dasymbp.cuda.graph=false -jar dist/asymbp.jar train --dataset mnist --model lenet --feedback brsf --bn \
    --epochs 1 --backend cuda --out "$work/mnist-eager-run" > "$work/mnist-eager.txt" 2>&1
echo "train exit code $?" >> "$work/mnist-eager.txt"
tail -3 "$work/mnist-eager.txt"

# -------------------------------------------------------------------------- 3. benchmarks
say "GpuBench (Java, cuda backend)"
bq=(); [[ $quick -eq 1 ]] && bq=(--quick)
timeout 120 "${JAVA[@]}" -cp dist/asymbp.jar asymbp.cuda.GpuBench "${bq[@]}" --json "$work/java.json" 2>&1 | tee "$work/java.txt" | tail -40

if python3 -c 'import torch' >/dev/null 2>&1; then
    say "torch_bench.py (PyTorch $(python3 -c 'import torch; print(torch.__version__)'))"
    tq=("${bq[@]}")
    # Keep the whole check under 8 minutes: torch.compile costs minutes, drop it when time is short.
    (( $(date +%s) - t_start > 300 )) && { tq+=(--no-compile); say "over 300 s already: torch.compile skipped"; }
    timeout 170 python3 bench/gpu/torch_bench.py "${tq[@]}" --json "$work/torch.json" 2>&1 | tail -20
else
    say "PyTorch not importable: no peer numbers"
fi

# ---------------------------------------------------------------------------------- 4. table
date_tag="$(date -u +%Y%m%d-%H%M)"
md=(--md "bench/results/gpu-${card:-unknown}-$date_tag.md")
[[ $plumbing -eq 1 ]] && md=(--md "$work/gpu-report.md")
[[ -n "${OUT:-}" ]] && { mkdir -p "$OUT"; md+=(--md "$OUT/gpu-report.md"); cp "$work"/*.txt "$work"/*.json "$OUT"/ 2>/dev/null; }
say "done in $(( $(date +%s) - t_start )) s; table:"
echo
python3 bench/gpu/report.py --dir "$work" "${md[@]}"
rc=$?
# A dry run without a GPU fails its checks by construction; only a real run's verdict counts.
[[ $plumbing -eq 1 ]] && exit 0
exit $rc
