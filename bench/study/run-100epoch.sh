#!/usr/bin/env bash
# The 100-epoch studies (BioTorch's LeNet protocol, then claim 3 with BN + Batch Manhattan), one after the
# other, each a resumable grid: run it again after any interruption and finished cells are skipped, a cell
# stopped part way resumes from its last finished epoch (bit for bit: same jar, same --cpu-threads).
#
#   bench/study/run-100epoch.sh [RUNS_DIR]          default RUNS_DIR: runs/100epoch (git-ignored)
#   nohup nice -n 19 bench/study/run-100epoch.sh /work/runs >/work/runs/study.log 2>&1 &    (hours on 2 cores)
#   bench/study/sync-results.sh RUNS_DIR            copies cells and reports into results/ for committing
#
# Each grid's jar is copied to RUNS_DIR/jars/GRID-COMMIT.jar when the grid first starts and that copy
# resumes it every later time, so rebuilding the tree never changes the code under a study (every cell's
# result.json records the commit it ran). Needs
# `mvn -q -DskipTests package` and datasets/fetch.sh fashion-mnist (or ASYMBP_DATA).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-runs/100epoch}
THREADS=${THREADS:-2}   # results depend on the thread count: keep it for the whole study
# the protocol and its follow-ups (fa/dfa rates, BioTorch's own LeNet and its dfa rate) first, then claim 3 and its follow-up
GRIDS=(${GRIDS:-biotorch-protocol biotorch-protocol-fa-lr biotorch-lenet biotorch-lenet-dfa-lr claim3-100epoch claim3-bm-followup})
mkdir -p "$RUNS/jars"
# Started with setsid (or from another session), the study has its own scheduler autogroup, and Linux shares
# the CPU between autogroups regardless of nice: without this, "nice -n 19" still took a whole core from
# a concurrent mvn test. Lowering the autogroup's own weight makes the study yield as nice intends.
if [ -w /proc/self/autogroup ]; then echo 19 > /proc/self/autogroup 2>/dev/null || true; fi
echo "run-100epoch: $(date -u +%FT%TZ) $THREADS threads, grids ${GRIDS[*]} -> $RUNS"
for g in "${GRIDS[@]}"; do
  jar=$(ls "$RUNS"/jars/"$g"-*.jar 2>/dev/null | head -1 || true)
  if [ -z "$jar" ]; then
    [ -f target/asymbp.jar ] || { echo "run-100epoch: target/asymbp.jar is missing: run mvn -q -DskipTests package" >&2; exit 2; }
    jar="$RUNS/jars/$g-$(git rev-parse --short HEAD).jar"
    cp target/asymbp.jar "$jar"
  fi
  echo "run-100epoch: $g with $jar"
  java --add-modules jdk.incubator.vector -jar "$jar" grid run "grids/$g.yaml" --out "$RUNS/$g" --cpu-threads "$THREADS"
done
