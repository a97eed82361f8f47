#!/usr/bin/env bash
# Cells per hour of `grid run` on the cpu backend for --parallel K and threads per cell, back to back,
# ROUNDS times in alternating order: bench/grid/cells-per-hour.sh [ROUNDS] [GRID]
# Needs `mvn -q -DskipTests package` (target/asymbp.jar). Prints one line per run and a median table.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-2}
GRID=${2:-bench/grid/lenet-study.yaml}
JAR=${JAR:-target/asymbp.jar}
# CP=classpath runs asymbp.cli.Main from it instead of the jar (target/classes + dependencies).
if [ -n "${CP:-}" ]; then RUN=(-cp "$CP" asymbp.cli.Main); else RUN=(-jar "$JAR"); fi
CONFIGS=("1 2" "2 1" "1 1")   # "K threads-per-cell"
cells=$(java --add-modules jdk.incubator.vector "${RUN[@]}" grid run "$GRID" --dry-run 2>/dev/null | grep -c '^  ')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "grid $GRID: $cells cells; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$ROUNDS"); do
  for c in "${CONFIGS[@]}"; do
    set -- $c
    out="$tmp/k$1-t$2-r$r"
    t0=$(date +%s.%N)
    java --add-modules jdk.incubator.vector -XX:+UseParallelGC "${RUN[@]}" \
      grid run "$GRID" --out "$out" --parallel "$1" --cpu-threads "$2" --no-report >/dev/null
    t1=$(date +%s.%N)
    secs=$(echo "$t1 - $t0" | bc -l)
    printf 'round %d  K=%d  threads/cell=%d  %6.1f s  %6.0f cells/hour\n' "$r" "$1" "$2" "$secs" "$(echo "$cells * 3600 / $secs" | bc -l)"
  done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
