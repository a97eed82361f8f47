#!/usr/bin/env bash
# One command: asymbp's cpu backend vs PyTorch CPU, side by side on this machine, written to
# bench/results/cpu-<date>.md. Builds the jar if needed, measures OpenBLAS's and our SGEMM rate, then
# runs the training-throughput benchmarks of both, interleaved (A B, then B A, REPS times) so that the
# noise of a shared machine hits both alike, and reports images/s and the ratio ours / PyTorch.
#
# Knobs (environment): REPS (3), RUN_SECONDS (5, timed per run), WARMUP_SECONDS (3; the JIT needs 2–3 s), MODELS ("lenet mlp"),
# MODES ("bp brsf"), UPDATE (sgd), DATA (synthetic | mnist: the embedded MNIST for us and
# datasets/mnist for PyTorch), BLAS_ENV (native: run numpy/PyTorch with OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset, so OpenBLAS picks its own kernel; inherit: keep them), PROFILE_STEPS (40),
# OUT (results file), JAVA (java), PY_OMP_WAITS ("PASSIVE default": the PyTorch variants run), NICE (empty; -10 gives both sides priority over other work), QUIET_PCT (15), QUIET_WAIT (90), QUIET_TOTAL (120): see wait_quiet.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPS=${REPS:-3}
RUN_SECONDS=${RUN_SECONDS:-5}
WARMUP_SECONDS=${WARMUP_SECONDS:-3}
MODELS=${MODELS:-"lenet mlp"}
MODES=${MODES:-"bp brsf"}
UPDATE=${UPDATE:-sgd}
DATA=${DATA:-synthetic}
BLAS_ENV=${BLAS_ENV:-native}
PROFILE_STEPS=${PROFILE_STEPS:-40}
JAVA=${JAVA:-java}
PY=/usr/bin/python3
OUT=${OUT:-bench/results/cpu-$(date -u +%F).md}

if ! $PY -c 'import torch, numpy' 2>/dev/null; then
  echo "compare.sh: /usr/bin/python3 lacks torch or numpy; install them with" >&2
  echo "  apt-get install -y python3-torch python3-numpy python3-threadpoolctl libopenblas0-pthread" >&2
  exit 2
fi

jar=target/asymbp.jar
# The benchmarks are in the jar only when built with -Pbench.
if [ ! -f "$jar" ] || ! unzip -Z1 "$jar" asymbp/bench/TrainThroughput.class >/dev/null 2>&1 \
   || [ -n "$(find pom.xml src native-fallback/src bench/src kernels -newer "$jar" -type f -print -quit 2>/dev/null)" ]; then
  echo "== building $jar (mvn -q -Pbench -DskipTests package)"
  mvn -q -Pbench -DskipTests package
fi

# NICE (e.g. -10, as root) runs both sides at a higher priority than other work on a shared machine;
# both get the same, so the pairs stay fair. Empty: normal priority.
NICE=${NICE:-}
py_env=()
[ -n "$NICE" ] && py_env+=(nice -n "$NICE")
py_env+=(env)
[ "$BLAS_ENV" = native ] && py_env+=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
# PyTorch's OpenMP threads spin while they wait by default ("default" below); on a shared machine that
# makes it 10–40× slower, and even alone it competes with OpenBLAS's own threads. PASSIVE (they sleep)
# was PyTorch's fastest setting here. Each pair runs every variant listed, so asymbp is compared with
# stock PyTorch and with PyTorch at its best.
PY_OMP_WAITS=${PY_OMP_WAITS:-"PASSIVE default"}
py_vars=(OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2)
jvm=()
[ -n "$NICE" ] && jvm+=(nice -n "$NICE")
jvm+=("$JAVA" --add-modules jdk.incubator.vector -Xmx4g -XX:+UseParallelGC -cp "$jar")

case "$DATA" in
  synthetic) py_data=synthetic; our_data=synthetic ;;
  mnist) py_data=datasets/mnist; our_data=mnist ;;
  *) echo "compare.sh: DATA must be synthetic or mnist, not '$DATA'" >&2; exit 2 ;;
esac

log=$(mktemp /tmp/asymbp-compare.XXXXXX.jsonl)
prof=$(mktemp /tmp/asymbp-profile.XXXXXX.md)
echo "== raw results: $log"
start=$(date -u +%FT%TZ)
echo "{\"meta\":\"start\",\"time\":\"$start\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$log"

# Other work on the 2 cores slows a 2-thread benchmark several-fold (OpenMP threads then wait on
# descheduled peers), so each pair waits until the machine is quiet: CPU use by everything else under
# QUIET_PCT% over one second, for at most QUIET_WAIT seconds; then it runs anyway and is marked busy.
QUIET_PCT=${QUIET_PCT:-15}
QUIET_WAIT=${QUIET_WAIT:-90}
QUIET_TOTAL=${QUIET_TOTAL:-120}  # all waits together, so a machine that never quiets still ends in time
waited_total=0
busy_pct() {
  local a b
  read -r _ a1 a2 a3 a4 a5 a6 a7 _ < /proc/stat; a=$((a1+a2+a3+a5+a6+a7)); local ia=$a4
  sleep 1
  read -r _ b1 b2 b3 b4 b5 b6 b7 _ < /proc/stat; b=$((b1+b2+b3+b5+b6+b7)); local ib=$b4
  echo $(( 100 * (b - a) / ((b - a) + (ib - ia) + 1) ))
}
wait_quiet() {
  local waited=0 pct
  pct=$(busy_pct)
  while [ "$pct" -gt "$QUIET_PCT" ] && [ "$waited" -lt "$QUIET_WAIT" ] && [ "$waited_total" -lt "$QUIET_TOTAL" ]; do
    sleep 4; waited=$((waited + 5)); waited_total=$((waited_total + 5)); pct=$(busy_pct)
  done
  echo "{\"meta\":\"quiet\",\"busy_pct_before\":$pct,\"waited_s\":$waited,\"label\":\"$1\"}" | tee -a "$log"
}

py_variant() {  # py_variant WAIT MODEL MODE [more train_bench.py args]
  local unset_wait=() set_wait=(OMP_WAIT_POLICY="$1")
  [ "$1" = default ] && unset_wait=(-u OMP_WAIT_POLICY) && set_wait=()
  "${py_env[@]}" "${unset_wait[@]}" "${py_vars[@]}" "${set_wait[@]}" $PY bench/pytorch/train_bench.py --model "$2" --mode "$3" --update "$UPDATE" \
      --data "$py_data" --warmup-seconds "$WARMUP_SECONDS" --seconds "$RUN_SECONDS" "${@:4}"
}
run_py() {
  local wait
  for wait in $PY_OMP_WAITS; do py_variant "$wait" "$1" "$2" | tee -a "$log"; done
}
run_ours() { "${jvm[@]}" asymbp.bench.TrainThroughput --model "$1" --mode "$2" --update "$UPDATE" \
             --data "$our_data" --warmup-seconds "$WARMUP_SECONDS" --seconds "$RUN_SECONDS" | tee -a "$log"; }

echo "== SGEMM: OpenBLAS (numpy, torch.mm) then asymbp's linearForward, 2 threads"
wait_quiet "sgemm"
"${py_env[@]}" "${py_vars[@]}" $PY bench/pytorch/sgemm_peak.py 1024x1024x1024 128x1024x1024 | tee -a "$log"
"${jvm[@]}" asymbp.bench.ProductRate 1024x1024x1024 128x1024x1024 | tee -a "$log"

for rep in $(seq 1 "$REPS"); do
  for model in $MODELS; do
    for mode in $MODES; do
      echo "== rep $rep/$REPS: $model $mode"
      wait_quiet "$model $mode rep $rep"
      if [ $((rep % 2)) -eq 1 ]; then run_py "$model" "$mode"; run_ours "$model" "$mode"
      else run_ours "$model" "$mode"; run_py "$model" "$mode"; fi
    done
  done
done

echo "== SGEMM again (the peak is the best of both rounds)"
wait_quiet "sgemm again"
"${py_env[@]}" "${py_vars[@]}" $PY bench/pytorch/sgemm_peak.py 1024x1024x1024 | tee -a "$log"
"${jvm[@]}" asymbp.bench.ProductRate 1024x1024x1024 | tee -a "$log"

if [ "$PROFILE_STEPS" -gt 0 ]; then
  for model in $MODELS; do
    for mode in $MODES; do
      echo "== profile: $model $mode, $PROFILE_STEPS steps op by op"
      "${jvm[@]}" asymbp.bench.TrainThroughput --model "$model" --mode "$mode" --update "$UPDATE" --data "$our_data" \
          --warmup-seconds "$WARMUP_SECONDS" --seconds 1 --profile "$PROFILE_STEPS" | grep -v '^{' | tee -a "$prof"
      echo >>"$prof"
      py_variant "${PY_OMP_WAITS%% *}" "$model" "$mode" --seconds 1 --profile "$PROFILE_STEPS" | grep -v '^{' | tee -a "$prof"
      echo >>"$prof"
    done
  done
fi
echo "{\"meta\":\"end\",\"time\":\"$(date -u +%FT%TZ)\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >>"$log"

mkdir -p "$(dirname "$OUT")"
"${py_env[@]}" "${py_vars[@]}" $PY bench/cpu/report.py "$log" "$prof" "$*" >"$OUT"
echo "== wrote $OUT"
cat "$OUT"
