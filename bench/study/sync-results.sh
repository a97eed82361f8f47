#!/usr/bin/env bash
# Copies a study's cells, grid file and report (of work/ only a running cell's metrics.csv, never the lock) from a
# runs folder into results/NAME/, and rewrites the report there: bench/study/sync-results.sh RUNS_DIR [NAME ...]
# Safe while the study runs: finished cells are complete files (written atomically); unfinished ones are
# reported as unfinished.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:?usage: sync-results.sh RUNS_DIR [NAME ...]}
shift
NAMES=("$@")
# default: every grid the runs folder holds (run-100epoch.sh's list, without a second copy of it)
if [ ${#NAMES[@]} -eq 0 ]; then
  for c in "$RUNS"/*/cells; do [ -d "$c" ] && NAMES+=("$(basename "$(dirname "$c")")"); done
fi
for n in "${NAMES[@]}"; do
  src="$RUNS/$n"
  [ -d "$src/cells" ] || { echo "sync-results: $src/cells: no such folder (not started?)"; continue; }
  mkdir -p "results/$n"
  tar -C "$src" --exclude=./work --exclude=./.lock -cf - . | tar -C "results/$n" -xf -
  # a running cell's epochs so far (metrics.csv only, no checkpoint), so the report can say how far it got
  rm -rf "results/$n/work"
  for m in "$src"/work/*/metrics.csv; do
    [ -f "$m" ] || continue
    d="results/$n/work/$(basename "$(dirname "$m")")"
    mkdir -p "$d" && cp "$m" "$d/"
  done
  # cells from before the 500-point trace limit are rewritten thinned (~265 KB -> ~80 KB for 100 epochs)
  java --add-modules jdk.incubator.vector -jar target/asymbp.jar grid report --compact-cells "results/$n"
  echo "sync-results: results/$n: $(ls "results/$n/cells" | wc -l) cell files"
done
