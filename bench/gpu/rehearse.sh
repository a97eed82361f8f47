#!/usr/bin/env bash
# A rehearsal of the GPU check, without a GPU (run in CI by .ci/run):
#
#   bench/gpu/rehearse.sh
#
# 1. builds the package (bench/gpu/package.sh), which fails when tracked + untracked-not-ignored files
#    + dist/ are over 56 MiB (bench/gpu/travel-size.sh; the device tool refuses 64);
# 2. copies the tree as the GPU machine receives it (tracked and untracked-not-ignored files, no .git,
#    no target/) and the carried dist/;
# 3. there, runs the documented command without a GPU, which must exit 2 ("NO GPU"), then the check with
#    $OUT set, --plumbing (every CUDA phase runs and fails or skips at once) and a time limit of its
#    deadline + 30 s;
# 4. fails if $OUT would not come back whole (over 8 files, deeper than 2 folders, odd names, a file over
#    16 MiB), if a planned phase has no cap, no budget or no result (its line in phases.txt, its section
#    in its file), if the report is missing or does not count the expected CUDA tests;
# 5. trains 1 epoch of a small MLP on 2000 MNIST images on the CPU with the packaged runtime and slim jar
#    in the copy: the runtime's modules, the jar's classes and the MNIST fallback to datasets/ work.
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
t0=$(date +%s)
fail=0
bad() { echo "rehearse: FAIL: $*" >&2; fail=1; }

bash bench/gpu/package.sh > /tmp/rehearse-package.$$.log 2>&1 || {
    tail -40 /tmp/rehearse-package.$$.log; rm -f /tmp/rehearse-package.$$.log
    echo "rehearse: FAIL: bench/gpu/package.sh failed (above)" >&2; exit 1; }
grep -E '^package: [0-9]+ CUDA tests|^travel-size:' /tmp/rehearse-package.$$.log
size_line="$(grep '^travel-size:' /tmp/rehearse-package.$$.log)"
rm -f /tmp/rehearse-package.$$.log

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
tree="$tmp/tree"
mkdir -p "$tree"
# A failed copy must not pass for a small tree (--ignore-failed-read: tracked files deleted in the work tree).
git ls-files -z --cached --others --exclude-standard \
    | (cd "$root" && tar --null --ignore-failed-read -T - -cf -) | tar -C "$tree" -xf - \
    || bad "copying the tree as the GPU machine gets it failed"
cp -a dist "$tree/dist"
[[ -d "$tree/.git" || -d "$tree/target" ]] && bad "the copy has .git or target/"
copied=$(find "$tree" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "rehearse: the copy as the GPU machine gets it: $(awk -v b="$copied" 'BEGIN{printf "%.2f", b/1048576}') MiB"
(( copied <= 56 * 1048576 )) || bad "the copy is over 56 MiB"

# The documented command on a machine without a GPU fails, and says so in $OUT.
mkdir -p "$tmp/out-nogpu"
(cd "$tree" && OUT="$tmp/out-nogpu" bash bench/gpu/check.sh > "$tmp/nogpu.log" 2>&1)
rc=$?
[[ $rc -eq 2 ]] || bad "bash bench/gpu/check.sh without a GPU exited $rc, expected 2"
grep -q '^# NO GPU' "$tmp/out-nogpu/phases.txt" 2>/dev/null || bad "without a GPU, \$OUT/phases.txt does not say NO GPU"
echo "rehearse: without a GPU the documented command exits $rc: $(head -1 "$tmp/nogpu.log")"

# The plumbing dry run, with the real deadline and an outer limit.
deadline=480
mkdir -p "$tmp/out"
start=$(date +%s)
(cd "$tree" && OUT="$tmp/out" timeout $(( deadline + 30 )) bash bench/gpu/check.sh --plumbing --quick --deadline "$deadline" \
    > "$tmp/check.log" 2>&1)
rc=$?
took=$(( $(date +%s) - start ))
[[ $rc -eq 0 ]] || { tail -30 "$tmp/check.log"; bad "check.sh --plumbing exited $rc after ${took}s"; }
(( took <= deadline )) || bad "check.sh --plumbing took ${took}s, over its ${deadline}s deadline"

# $OUT as the device tool returns it: at most 8 files, 16 MiB each, 2 folders down, plain names.
out="$tmp/out"
n_files=$(find "$out" -type f | wc -l)
(( n_files <= 8 )) || bad "\$OUT holds $n_files files; the device tool returns 8"
while IFS= read -r f; do
    rel="${f#"$out"/}"
    [[ "$rel" =~ ^[A-Za-z0-9._/-]+$ ]] || bad "\$OUT/$rel: a name the device tool does not return"
    (( $(tr -cd / <<<"$rel" | wc -c) <= 2 )) || bad "\$OUT/$rel: deeper than 2 folders"
    (( $(stat -c %s "$f") <= 16 * 1048576 )) || bad "\$OUT/$rel: over 16 MiB"
done < <(find "$out" -type f)
[[ -z "$(find "$out" -type l)" ]] || bad "\$OUT holds links; the device tool does not return them"

# Every planned phase: a cap, and a result (its line with a budget, its section in its file).
phases="$out/phases.txt"
[[ -f "$phases" ]] || bad "\$OUT/phases.txt is missing"
planned=0
while read -r _ _ name cap file _; do
    planned=$(( planned + 1 ))
    [[ "$cap" =~ ^[1-9][0-9]*$ ]] || bad "phase $name has no time budget (cap '$cap')"
    line="$(awk -F'\t' -v p="$name" '$1 == p' "$phases")"
    if [[ -z "$line" ]]; then bad "phase $name left no line in phases.txt"; continue; fi
    IFS=$'\t' read -r _ status _ _ budget pfile <<<"$line"
    [[ "$status" =~ ^(ok|fail|timeout|skipped)$ ]] || bad "phase $name: status '$status'"
    [[ "$budget" =~ ^[1-9][0-9]*$ ]] || bad "phase $name ran with no time budget ('$budget')"
    [[ "$pfile" == "$file" ]] || bad "phase $name wrote $pfile, planned $file"
    grep -q "^==== phase $name " "$out/$file" 2>/dev/null || bad "phase $name: no result in \$OUT/$file"
    printf 'rehearse: phase %-13s cap %4ss  budget %4ss  %-8s -> %s\n' "$name" "$cap" "$budget" "$status" "$file"
done < <(grep '^# plan: ' "$phases")
(( planned >= 6 )) || bad "phases.txt plans $planned phases, expected 6"

expected=$(wc -l < "$tree/dist/cuda-tests.expected")
report="$out/gpu-report.md"
[[ -f "$report" ]] || bad "\$OUT/gpu-report.md is missing"
grep -q "of $expected expected CUDA tests" "$report" 2>/dev/null || bad "the report does not count the $expected expected CUDA tests"
grep -q '^Verdict: FAIL' "$report" 2>/dev/null || bad "the dry run's report does not say 'Verdict: FAIL' (no GPU ran)"

# The packaged runtime and slim jar run the engine, reading MNIST from the copy's datasets/.
(cd "$tree" && timeout 120 dist/run/jre/bin/java --add-modules jdk.incubator.vector -Djava.io.tmpdir="$tree/dist/run/tmp" \
    -jar dist/asymbp.jar train --dataset mnist --model mlp:32 --feedback brsf --epochs 1 --limit 2000 --backend cpu \
    --out "$tmp/smoke" --quiet > "$tmp/smoke.log" 2>&1)
rc=$?
if [[ $rc -ne 0 ]] || ! grep -q 'test error' "$tmp/smoke.log"; then
    tail -20 "$tmp/smoke.log"; bad "the slim package's CPU training smoke run failed (exit $rc)"
else
    echo "rehearse: slim package, CPU smoke run: $(grep 'test error' "$tmp/smoke.log" | tail -1)"
fi

echo "rehearse: $size_line"
echo "rehearse: dry run of the check took ${took}s of its ${deadline}s deadline; \$OUT: $n_files files: $(cd "$out" && ls | tr '\n' ' ')"
if (( fail )); then echo "rehearse: FAILED in $(( $(date +%s) - t0 ))s" >&2; exit 1; fi
echo "rehearse: OK in $(( $(date +%s) - t0 ))s"
