#!/usr/bin/env bash
# Checks every version of every CUDA op file without a GPU: compiles the twelve kernels/<op>.cu as host
# C++ under emulate.cuh, runs v1 (the portable bodies) and every tuned version against naive references
# and each tuned version against v1, and compares V(W) with asymbp.backend.Feedback#v bit for bit.
#   kernels/cuda/test/run.sh [SEED]       (needs g++ with C++20 and compiled classes in target/classes)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
g++ -std=c++20 -O1 -pthread -fno-delete-null-pointer-checks -I "$root/kernels" \
    -o "$tmp/emulate_check" "$root/kernels/cuda/test/emulate_check.cpp"
"$tmp/emulate_check" "$tmp/v.txt" ${1:-}
[[ -d "$root/target/classes/asymbp" ]] || (cd "$root" && mvn -q compile)
java -cp "$root/target/classes" "$root/kernels/cuda/test/VCheck.java" "$tmp/v.txt"
