#!/usr/bin/env bash
# Checks bench/gpu/report.py's verdict on fabricated check outputs (run in CI): a passing run exits 0, and
# so does one whose OpenCL phase failed (reported, never deciding); an all-skipped CUDA suite, a failed
# test, a failed container, fewer CUDA tests than expected, a bad MNIST error, a failed GpuBench part, a
# deciding phase with no result file or no line in phases.txt, and no output at all exit 1.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap '[[ -n "${KEEP:-}" ]] || rm -rf "$tmp"' EXIT
fail=0
expected="$tmp/expected"
cuda_tests=("JUnit Jupiter > CudaProbeTest > devicesAndRepeatedProbesAgree()"
            "JUnit Jupiter > CudaGpuTest > graphReplayEqualsEagerSteps()"
            "JUnit Jupiter > OpConformanceTest > linearForward(String) > cuda")
printf '%s\n' "${cuda_tests[@]}" > "$expected"

summary() {  # summary CONTAINERS_FAILED SUCCESSFUL FAILED ABORTED
    printf '[ %s containers failed ]\n[ %s tests found ]\n[ 0 tests skipped ]\n[ %s tests aborted ]\n[ %s tests successful ]\n[ %s tests failed ]\n' \
        "$1" "$(( $2 + $3 + $4 ))" "$4" "$2" "$3"
}
# make DIR: a passing run; the cases below change one thing each.
make() {
    mkdir -p "$1"
    { printf '# nvidia-smi: NVIDIA H100 80GB HBM3, 580.00, 81559 MiB, 1980 MHz, 700.00 W\n'
      printf '# plan: %s\n' "tests-cuda 200 tests-cuda.txt decides" "mnist 90 mnist.txt decides" "gpubench 120 bench.txt decides" \
          "mnist-eager 60 mnist.txt info" "torch 150 bench.txt info" "tests-opencl 90 tests-opencl.txt info"
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' tests-cuda ok 0 40 200 tests-cuda.txt mnist ok 0 30 90 mnist.txt \
          gpubench ok 0 60 120 bench.txt mnist-eager ok 0 30 60 mnist.txt torch ok 0 90 150 bench.txt \
          tests-opencl ok 0 20 90 tests-opencl.txt; } > "$1/phases.txt"
    { echo "==== phase tests-cuda (budget 200s, cap 200s)"
      for t in "${cuda_tests[@]}"; do echo "$t :: STARTED"; echo "$t :: SUCCESSFUL"; done
      summary 0 3 0 0; } > "$1/tests-cuda.txt"
    { echo "==== phase mnist (budget 90s, cap 90s)"; echo "epoch 1: test error 1.90%, 30000 img/s"
      echo "==== phase mnist-eager (budget 60s, cap 60s)"; echo "epoch 1: test error 1.90%, 20000 img/s"; } > "$1/mnist.txt"
    { echo "==== phase gpubench (budget 120s, cap 120s)"; echo "RESULT copy_gbps 3000"
      echo "==== phase torch (budget 150s, cap 150s)"; echo "RESULT torch_lenet_bp_eager_ms 1.0"; } > "$1/bench.txt"
    { echo "==== phase tests-opencl (budget 90s, cap 90s)"; summary 0 20 0 0; } > "$1/tests-opencl.txt"
    echo '{"device": "fake", "lenet_bp_graph_ms": 0.2, "lenet_bp_eager_ms": 0.5, "lenet_brsf_graph_ms": 0.21,
           "mlp_bp_graph_ms": 9.0, "mlp_brsf_eager_ms": 9.5}' > "$1/gpubench.json"
    echo '{"torch_lenet_bp_eager_ms": 1.0}' > "$1/torch.json"
}
expect() {  # expect CODE DIR WHAT
    python3 "$here/report.py" --dir "$2" --expected "$expected" --md "$2/gpu-report.md" > "$2/stdout" 2>&1
    local rc=$?
    if [[ $rc -ne $1 ]]; then
        echo "test_report: FAIL $3: exit $rc, expected $1"; tail -8 "$2/stdout"; fail=1
    else
        echo "test_report: ok   $3 (exit $rc)"
    fi
}

make "$tmp/pass"; expect 0 "$tmp/pass" "a passing run (no kernel_versions: tolerated)"

make "$tmp/kv"
echo '{"device": "fake", "kernel_versions": {"asymbp_ops": "sm_90.cubin 3"}, "lenet_bp_graph_ms": 0.2,
      "lenet_brsf_graph_ms": 0.21, "mlp_bp_graph_ms": 9.0, "mlp_brsf_graph_ms": 9.4}' > "$tmp/kv/gpubench.json"
expect 0 "$tmp/kv" "kernel_versions in GpuBench's JSON"
grep -q 'kernel versions (GpuBench): {"asymbp_ops": "sm_90.cubin 3"}' "$tmp/kv/gpu-report.md" \
    || { echo "test_report: FAIL kernel_versions not shown in the table"; fail=1; }

make "$tmp/skipped"
{ echo "==== phase tests-cuda (budget 200s, cap 200s)"
  for t in "${cuda_tests[@]}"; do echo "$t :: ABORTED"; done; summary 0 0 0 3; } > "$tmp/skipped/tests-cuda.txt"
expect 1 "$tmp/skipped" "every CUDA test skipped (aborted)"

make "$tmp/failed"
sed -i '0,/ :: SUCCESSFUL/s// :: FAILED/' "$tmp/failed/tests-cuda.txt"
sed -i 's/\[ 3 tests successful \]/[ 2 tests successful ]/; s/\[ 0 tests failed \]/[ 1 tests failed ]/' "$tmp/failed/tests-cuda.txt"
expect 1 "$tmp/failed" "a failed CUDA test"

make "$tmp/container"
sed -i 's/\[ 0 containers failed \]/[ 1 containers failed ]/' "$tmp/container/tests-cuda.txt"
expect 1 "$tmp/container" "a failed container (e.g. @BeforeAll), every test that ran passed"

make "$tmp/few"
{ echo "==== phase tests-cuda (budget 200s, cap 200s)"
  for t in "${cuda_tests[@]:0:2}"; do echo "$t :: SUCCESSFUL"; done; summary 0 2 0 0; } > "$tmp/few/tests-cuda.txt"
expect 1 "$tmp/few" "fewer CUDA tests executed than expected"

make "$tmp/opencl"
{ echo "==== phase tests-opencl (budget 90s, cap 90s)"
  echo "JUnit Jupiter > OpConformanceTest > linearForward(String) > opencl :: FAILED"; summary 2 10 10 0; } > "$tmp/opencl/tests-opencl.txt"
sed -i 's/^tests-opencl\tok\t0/tests-opencl\tfail\t1/' "$tmp/opencl/phases.txt"
expect 0 "$tmp/opencl" "OpenCL on NVIDIA failed (reported, does not decide)"
grep -q 'OpenCL through NVIDIA.*10 failed' "$tmp/opencl/gpu-report.md" || { echo "test_report: FAIL OpenCL failures not reported"; fail=1; }

make "$tmp/mnist"; sed -i '0,/test error 1.90%/s//test error 5.00%/' "$tmp/mnist/mnist.txt"
expect 1 "$tmp/mnist" "MNIST test error 5%"

make "$tmp/phase"; echo "PHASE-FAILED lenet bp graph: boom" >> "$tmp/phase/bench.txt"
sed -i 's/^==== phase torch.*//' "$tmp/phase/bench.txt"  # the line must sit in the gpubench section
expect 1 "$tmp/phase" "a GpuBench part failed"

make "$tmp/nofile"; rm "$tmp/nofile/mnist.txt"
expect 1 "$tmp/nofile" "a deciding phase (mnist) with no result file"

make "$tmp/noline"; sed -i '/^gpubench\t/d' "$tmp/noline/phases.txt"
expect 1 "$tmp/noline" "a deciding phase (gpubench) with no line in phases.txt"

make "$tmp/timeout"; sed -i 's/^tests-cuda\tok\t0/tests-cuda\ttimeout\t124/' "$tmp/timeout/phases.txt"
expect 1 "$tmp/timeout" "the CUDA tests timed out"

make "$tmp/nojson"; rm "$tmp/nojson/gpubench.json"
expect 1 "$tmp/nojson" "GpuBench exited 0 but left no gpubench.json"

make "$tmp/nomlp"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d.pop("mlp_brsf_eager_ms", None); json.dump(d, open(sys.argv[1], "w"))' "$tmp/nomlp/gpubench.json"
expect 1 "$tmp/nomlp" "GpuBench left no step time for mlp brsf"

mkdir -p "$tmp/empty"; expect 1 "$tmp/empty" "no output at all"
exit $fail
