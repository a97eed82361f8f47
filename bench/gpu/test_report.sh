#!/usr/bin/env bash
# Checks bench/gpu/report.py's verdict on fabricated check outputs (run in CI): a passing run exits 0;
# an all-skipped test suite, a failed test, a bad MNIST error or a failed GpuBench part exit 1.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fail=0
make() {  # make DIR SUCCESSFUL FAILED MNIST_ERR JAVA_TXT
    mkdir -p "$1"
    printf '[ %s tests successful ]\n[ %s tests failed ]\n[ 0 tests aborted ]\n[ 0 tests skipped ]\n' "$2" "$3" > "$1/conformance.txt"
    echo "test error $4%, 30000 images/s" > "$1/mnist.txt"
    echo "test error $4%, 20000 images/s" > "$1/mnist-eager.txt"
    echo '{"device": "fake", "lenet_bp_graph_ms": 0.2, "lenet_bp_eager_ms": 0.5}' > "$1/java.json"
    echo '{"torch_lenet_bp_eager_ms": 1.0}' > "$1/torch.json"
    printf '%s\n' "$5" > "$1/java.txt"
}
expect() {  # expect CODE DIR WHAT
    python3 "$here/report.py" --dir "$2" > /dev/null 2>&1
    local rc=$?
    if [[ $rc -ne $1 ]]; then echo "test_report: FAIL $3: exit $rc, expected $1"; fail=1; else echo "test_report: ok   $3 (exit $rc)"; fi
}
make "$tmp/pass" 40 0 1.90 "RESULT copy_gbps 3000"; expect 0 "$tmp/pass" "a passing run"
make "$tmp/skipped" 0 0 1.90 ""; expect 1 "$tmp/skipped" "every test skipped"
make "$tmp/failed" 39 1 1.90 ""; expect 1 "$tmp/failed" "a failed test"
make "$tmp/mnist" 40 0 5.00 ""; expect 1 "$tmp/mnist" "MNIST test error 5%"
make "$tmp/phase" 40 0 1.90 "PHASE-FAILED lenet bp graph: boom"; expect 1 "$tmp/phase" "a GpuBench part failed"
rm -f "$tmp/pass/conformance.txt"; expect 1 "$tmp/pass" "no test output at all"
exit $fail
