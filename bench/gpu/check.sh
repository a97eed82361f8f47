#!/usr/bin/env bash
# The GPU check: one command on a GPU machine that has no Java and no network, from the repository root
# with dist/ (bench/gpu/package.sh) carried along.
#
#   bash bench/gpu/check.sh [--quick] [--deadline SECONDS] [--plumbing]
#
# Phases, in order, each with its own cap and all under one shared deadline (default 480 s, or
# $ASYMBP_CHECK_DEADLINE); a phase gets min(cap, what the deadline leaves after 20 s kept for the report)
# and is skipped, with a result saying so, when under 10 s are left:
#
#   phase          cap   writes              decides the verdict
#   tests-cuda     200   tests-cuda.txt      yes: asymbp.cuda + asymbp.conformance on cuda, -Dasymbp.require=cuda
#   mnist           90   mnist.txt           yes: MNIST LeNet+BN brsf 1 epoch on cuda (CUDA-graph steps), < 3 %
#   gpubench       120   bench.txt           yes: asymbp.cuda.GpuBench (+ gpubench.json); speed targets are info
#   mnist-eager     60   mnist.txt           no:  the same epoch with eager steps (what the graph buys)
#   torch          150   bench.txt           no:  torch_bench.py, PyTorch's numbers (+ torch.json)
#   tests-opencl    90   tests-opencl.txt    no:  the conformance suite on opencl through NVIDIA's OpenCL driver
#   NAME-sync   200/90   (same file)         no:  a deciding phase that failed or timed out, run again after
#                                             the three with -Dasymbp.cuda.sync=true (every launch
#                                             synchronised; a failure names its kernel)
#   report           -   gpu-report.md       the table (bench/gpu/report.py), printed last
# Every phase writes straight into $OUT (dist/run/out when OUT is unset) and appends its line to
# $OUT/phases.txt when it ends (name, status, exit code, seconds, budget, file), so a call cut short
# still returns every phase that finished. Exit status: 0 only when the verdict passes; 2 when there
# is no GPU (nvidia-smi or libcuda.so.1 missing).
#
# --plumbing runs every phase without a GPU (the CUDA phases then fail or skip at once with their
# one-line reasons) and exits 0 when every phase left its result: bench/gpu/rehearse.sh runs it in CI.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
quick=0
plumbing=0
deadline_s="${ASYMBP_CHECK_DEADLINE:-480}"
while (( $# )); do
    case "$1" in
        --quick) quick=1 ;;
        --plumbing) plumbing=1 ;;
        --require-gpu) ;;  # the default now; kept so older command lines still work
        --deadline) deadline_s="${2:-}"; shift ;;
        *) echo "usage: bash bench/gpu/check.sh [--quick] [--deadline SECONDS] [--plumbing]" >&2; exit 2 ;;
    esac
    shift
done
[[ "$deadline_s" =~ ^[0-9]+$ ]] || { echo "check: --deadline '$deadline_s': expected whole seconds" >&2; exit 2; }
t_start=$(date +%s)
t_end=$(( t_start + deadline_s ))
REPORT_RESERVE=20
MIN_PHASE=10
say() { echo "[check $(( $(date +%s) - t_start ))s] $*"; }

work="$root/dist/run"
out="${OUT:-$work/out}"
phases="$out/phases.txt"
mkdir -p "$out"
# Phases append to their files: start from none (the device tool empties $OUT; dist/run/out it does not).
(cd "$out" && rm -f phases.txt tests-cuda.txt tests-opencl.txt mnist.txt bench.txt gpubench.json torch.json gpu-report.md)

# ------------------------------------------------------------------------- is there a GPU?
# libcuda.so.1 where drivers put it: ldconfig's cache, then the usual folders (a container's driver is
# often mounted at /usr/local/nvidia/lib64, which ldconfig does not know). Its folder goes on
# LD_LIBRARY_PATH, so JCuda's dlopen finds it.
find_lib() {  # find_lib NAME -> the folder holding NAME, or nothing
    local p d
    p="$(ldconfig -p 2>/dev/null | awk -v n="$1" '$1 == n && /x86-64/ {print $NF; exit}')"
    [[ -n "$p" && -e "$p" ]] && { dirname "$p"; return; }
    for d in /usr/lib/x86_64-linux-gnu /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib64 /usr/lib; do
        [[ -e "$d/$1" ]] && { echo "$d"; return; }
    done
}
cuda_dir="$(find_lib libcuda.so.1)"
gpu_reason=""
if ! command -v nvidia-smi >/dev/null 2>&1; then
    gpu_reason="nvidia-smi is not installed"
elif ! nvidia-smi -L >/dev/null 2>&1; then
    gpu_reason="nvidia-smi finds no usable GPU ($(nvidia-smi -L 2>&1 | head -1))"
elif [[ -z "$cuda_dir" ]]; then
    gpu_reason="libcuda.so.1 (the NVIDIA driver library) is in neither ldconfig's cache nor /usr/lib/x86_64-linux-gnu, /usr/local/nvidia/lib64, /usr/lib64"
fi
{
    echo "# asymbp GPU check, $(date -u '+%Y-%m-%d %H:%M:%S UTC'), deadline ${deadline_s}s$([[ $plumbing -eq 1 ]] && echo ', plumbing dry run')"
    echo "# commit: $(cat dist/COMMIT 2>/dev/null || echo unknown)"
    echo "# libcuda.so.1: ${cuda_dir:-not found}"
} > "$phases"
if [[ -n "$gpu_reason" ]]; then
    echo "# NO GPU: $gpu_reason" >> "$phases"
    if [[ $plumbing -eq 0 ]]; then
        echo "check: NO GPU on this machine: $gpu_reason. Run this on a GPU machine (--plumbing: a dry run)." >&2
        exit 2
    fi
    echo "check: NO GPU on this machine ($gpu_reason); --plumbing: running every phase anyway"
    nvidia-smi() { echo "no GPU (plumbing dry run)"; }
fi
[[ -n "$cuda_dir" ]] && export LD_LIBRARY_PATH="$cuda_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

for f in dist/jre.tar.xz dist/asymbp.jar dist/asymbp-tests.jar dist/junit-console.jar dist/cuda-tests.expected; do
    [[ -f "$f" ]] || { echo "check: $f is missing; run bench/gpu/package.sh here and carry dist/" >&2; echo "# MISSING $f" >> "$phases"; exit 2; }
done

# Everything the check writes besides $OUT stays under the carried dist/: the runtime, the native
# libraries JCuda and JOCL extract (java.io.tmpdir), the training runs.
rm -rf "$work/jre" "$work/tmp" "$work"/*-run*
mkdir -p "$work/jre" "$work/tmp"
if ! tar -C "$work/jre" -xJf dist/jre.tar.xz 2>/dev/null; then
    # No xz binary: Python's tarfile reads xz itself.
    python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' dist/jre.tar.xz "$work/jre" \
        || { echo "check: cannot unpack dist/jre.tar.xz (neither tar -J nor python3)" >&2; exit 2; }
fi
JAVA=("$work/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xmx16g
      -Djava.io.tmpdir="$work/tmp" -Dasymbp.mnist.dir="$root/datasets/mnist")
java_version="$("${JAVA[@]}" -version 2>&1 | grep -i version | head -1)"
echo "# java: $java_version" >> "$phases"
smi="$(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,power.limit --format=csv,noheader 2>&1 | head -1)"
echo "# nvidia-smi: $smi" >> "$phases"
nvidia-smi
printf '# plan: %s\n' "tests-cuda 200 tests-cuda.txt decides" "mnist 90 mnist.txt decides" "gpubench 120 bench.txt decides" \
    "mnist-eager 60 mnist.txt info" "torch 150 bench.txt info" "tests-opencl 90 tests-opencl.txt info" >> "$phases"
printf '# phase\tstatus\texit\tseconds\tbudget_s\tfile\n' >> "$phases"

# ----------------------------------------------------------------------------- phase runner
record() { printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >> "$phases"; }
budget_for() {  # budget_for CAP -> seconds this phase may take
    local left=$(( t_end - $(date +%s) - REPORT_RESERVE ))
    echo $(( $1 < left ? $1 : left ))
}
# run_phase NAME CAP FILE CMD...: appends CMD's output to $out/FILE under a header; records the outcome.
run_phase() {
    local name="$1" cap="$2" file="$3"; shift 3
    local budget; budget="$(budget_for "$cap")"
    echo "==== phase $name (budget ${budget}s, cap ${cap}s)" >> "$out/$file"
    last_status=skipped
    if (( budget < MIN_PHASE )); then
        echo "SKIPPED: the shared deadline leaves ${budget}s" >> "$out/$file"
        record "$name" skipped - 0 "$(( budget > 0 ? budget : 0 ))" "$file"
        say "$name: skipped, the deadline leaves ${budget}s"
        return 1
    fi
    say "$name: up to ${budget}s"
    local t0; t0=$(date +%s)
    timeout -k 5 "$budget" "$@" >> "$out/$file" 2>&1
    local rc=$? st=ok
    (( rc == 124 || rc == 137 )) && st=timeout
    [[ $st == ok && $rc -ne 0 ]] && st=fail
    last_status=$st
    echo "==== end $name: $st, exit $rc, $(( $(date +%s) - t0 ))s" >> "$out/$file"
    record "$name" "$st" "$rc" "$(( $(date +%s) - t0 ))" "$budget" "$file"
    say "$name: $st (exit $rc, $(( $(date +%s) - t0 ))s)"
    return $rc
}
# not_run NAME CAP FILE REASON: a phase that does not apply here still leaves its result.
not_run() {
    echo "==== phase $1 (budget $(budget_for "$2")s, cap $2s)" >> "$out/$3"
    echo "SKIPPED: $4" >> "$out/$3"
    record "$1" skipped - 0 "$(budget_for "$2")" "$3"
    say "$1: skipped: $4"
}
show() { grep -v -E '^\s+at |^\[seed\]' "$out/$1" | tail -"$2"; }

req=(-Dasymbp.require=cuda); [[ $plumbing -eq 1 ]] && req=()
mapfile -t selection < bench/gpu/cuda-tests.args
junit=(-jar dist/junit-console.jar execute --disable-banner --disable-ansi-colors --details=testfeed
       --class-path dist/asymbp.jar:dist/asymbp-tests.jar)
bq=(); [[ $quick -eq 1 ]] && bq=(--quick)
sync=-Dasymbp.cuda.sync=true

# --------------------------------------------------------------------------- 1. CUDA tests
# OpenCL is left out here (its own phase below), so only CUDA decides.
tests_cuda() { run_phase "$1" 200 tests-cuda.txt env -u CI "${JAVA[@]}" "${@:2}" "${req[@]}" -Dasymbp.test.backends=cuda \
    "${junit[@]}" --fail-if-no-tests "${selection[@]}"; }
# Deciding phases that fail or time out are rerun with every launch synchronised after the three have run.
rerun=()
tests_cuda tests-cuda || [[ $last_status == skipped ]] || rerun+=(tests-cuda)
show tests-cuda.txt 16

# --------------------------------------------------------------------------------- 2. MNIST
mnist() { run_phase "$1" "$2" mnist.txt "${JAVA[@]}" "${@:4}" -jar dist/asymbp.jar train --dataset mnist --model lenet \
    --feedback brsf --bn --epochs 1 --backend cuda --out "$work/$3"; }
mnist mnist 90 mnist-run || [[ $last_status == skipped ]] || rerun+=(mnist)
show mnist.txt 4

# ----------------------------------------------------------------------------- 3. GpuBench
gpubench() { run_phase "$1" 120 bench.txt "${JAVA[@]}" "${@:2}" -cp dist/asymbp.jar asymbp.cuda.GpuBench "${bq[@]}" \
    --json "$out/gpubench.json"; }
gpubench gpubench || [[ $last_status == skipped ]] || rerun+=(gpubench)
show bench.txt 12

# ------------------------------------------------- 3b. failed deciding phases, launches synchronised
# Diagnosis only: the first run's outcome stands. Each failure now names its kernel.
for p in "${rerun[@]}"; do
    case "$p" in
        tests-cuda) tests_cuda tests-cuda-sync "$sync" ;;
        mnist) mnist mnist-sync 90 mnist-sync-run "$sync" ;;
        # Its JSON goes beside: the first run's numbers stay what the table reads.
        gpubench) run_phase gpubench-sync 90 bench.txt "${JAVA[@]}" "$sync" -cp dist/asymbp.jar asymbp.cuda.GpuBench --quick \
            --json "$work/gpubench-sync.json" ;;
    esac
    grep -i -E 'kernel' "$out/$( [[ $p == mnist ]] && echo mnist.txt || { [[ $p == gpubench ]] && echo bench.txt || echo tests-cuda.txt; } )" \
        | grep -i -E 'fail|error' | tail -5
done

# ---------------------------------------------------------------------- 4. MNIST, eager steps
mnist mnist-eager 60 mnist-eager-run -Dasymbp.cuda.graph=false
show mnist.txt 3

# ------------------------------------------------------------------------------ 5. PyTorch
if python3 -c 'import torch' >/dev/null 2>&1; then
    tq=("${bq[@]}")
    # torch.compile costs minutes: left out when the deadline is near.
    (( $(budget_for 150) < 150 )) && tq+=(--no-compile)
    run_phase torch 150 bench.txt python3 bench/gpu/torch_bench.py "${tq[@]}" --json "$out/torch.json"
    show bench.txt 6
else
    not_run torch 150 bench.txt "python3 cannot import torch: no peer numbers"
fi

# ------------------------------------------------------------------ 6. OpenCL through NVIDIA
# Reported, never deciding: NVIDIA's OpenCL driver has not run this code before.
ocl_dir="$(find_lib libnvidia-opencl.so.1)"
if [[ -f dist/ocl/libOpenCL.so && -n "$ocl_dir" ]]; then
    run_phase tests-opencl 90 tests-opencl.txt env -u CI LD_LIBRARY_PATH="$root/dist/ocl:$ocl_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" \
        OCL_ICD_VENDORS="$root/dist/ocl/vendors" "${JAVA[@]}" -Dasymbp.require=opencl -Dasymbp.test.backends=opencl \
        "${junit[@]}" --select-package asymbp.conformance --select-package asymbp.opencl
    show tests-opencl.txt 14
else
    not_run tests-opencl 90 tests-opencl.txt "$([[ -f dist/ocl/libOpenCL.so ]] && echo "NVIDIA's libnvidia-opencl.so.1 not found" || echo "dist/ocl has no libOpenCL (package.sh found no ocl-icd)")"
fi

# -------------------------------------------------------------------------------- 7. report
say "report (bench/gpu/report.py); the table:"
echo
python3 bench/gpu/report.py --dir "$out" --work "$work" --expected dist/cuda-tests.expected --md "$out/gpu-report.md"
rc=$?
say "done in $(( $(date +%s) - t_start ))s of ${deadline_s}s; results in ${OUT:+\$OUT=}$out"
if [[ $plumbing -eq 1 ]]; then
    # A dry run fails the verdict by construction; what counts is that every phase left its result
    # and the report was written (report.py: 0 pass, 1 fail, anything else a crash).
    missing=0
    for p in tests-cuda mnist gpubench mnist-eager torch tests-opencl; do
        grep -q -P "^$p\t" "$phases" || { echo "check: plumbing: phase $p left no line in phases.txt" >&2; missing=1; }
    done
    (( rc <= 1 )) && [[ -s "$out/gpu-report.md" ]] || { echo "check: plumbing: report.py exited $rc or wrote no table" >&2; missing=1; }
    exit $missing
fi
exit $rc
