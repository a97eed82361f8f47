#!/usr/bin/env bash
# Cells per hour of a grid on a Spark standalone cluster on this machine: a master and WORKERS workers
# (one core each) on 127.0.0.1, the driver run as spark-submit would (SparkGrid on the class path with
# spark.* properties). SPARK_HOME/jars is filled by Maven from the provided Spark dependency.
#   bench/grid/spark-cluster.sh [GRID] [WORKERS]
# Needs `mvn -q compile` (target/classes). Every process it starts is ended on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
GRID=${1:-bench/grid/lenet-study.yaml}
WORKERS=${2:-2}
CLASSES=${CLASSES:-target/classes}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do
    for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill -KILL "$c" 2>/dev/null || true; done
    kill "$p" 2>/dev/null || true
  done
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
export SPARK_HOME=$tmp/spark SPARK_SCALA_VERSION=2.13 SPARK_LOCAL_IP=127.0.0.1 SPARK_LOCAL_DIRS=$tmp/local
mkdir -p "$SPARK_HOME/jars" "$SPARK_LOCAL_DIRS"
mvn -q -o dependency:copy-dependencies -DincludeScope=provided -DoutputDirectory="$SPARK_HOME/jars" >/dev/null
mvn -q -o dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$SPARK_HOME/jars" >/dev/null
(cd "$CLASSES" && jar cf "$tmp/asymbp-app.jar" .)
port=$((20000 + RANDOM % 20000))
t0=$(date +%s.%N)
java -Xmx256m -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.master.Master --host 127.0.0.1 --port $port \
  --webui-port $((port + 1)) >"$tmp/master.log" 2>&1 &
pids+=($!)
for w in $(seq 1 "$WORKERS"); do
  java -Xmx256m -cp "$SPARK_HOME/jars/*" org.apache.spark.deploy.worker.Worker --host 127.0.0.1 --cores 1 \
    --memory 1g --work-dir "$tmp/work$w" --webui-port $((port + 1 + w)) spark://127.0.0.1:$port >"$tmp/worker$w.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 300); do
  [ "$(grep -c 'Registering worker' "$tmp/master.log" || true)" -ge "$WORKERS" ] && break
  sleep 0.2
done
t1=$(date +%s.%N)
cells=$(java --add-modules jdk.incubator.vector -cp "$CLASSES:$SPARK_HOME/jars/*" asymbp.cli.Main grid run "$GRID" --dry-run 2>/dev/null | grep -c '^  ')
java --add-modules jdk.incubator.vector -Xmx1g -cp "$CLASSES:$SPARK_HOME/jars/*" \
  -Dspark.master=spark://127.0.0.1:$port -Dspark.driver.host=127.0.0.1 -Dspark.driver.bindAddress=127.0.0.1 \
  -Dspark.ui.enabled=false -Dspark.jars="$tmp/asymbp-app.jar" -Dspark.executor.memory=768m -Dspark.executor.cores=1 \
  "-Dspark.executor.extraJavaOptions=--add-modules=jdk.incubator.vector -Dasymbp.cpu.threads=1 -XX:+UseParallelGC" \
  asymbp.grid.spark.SparkGrid grid run "$GRID" --out "$tmp/out" --no-report >"$tmp/driver.log" 2>&1 || true
t2=$(date +%s.%N)
grep -E '^\[[0-9]+/|grid done' "$tmp/driver.log" | tail -2
secs=$(echo "$t2 - $t1" | bc -l)
printf 'spark standalone, %d workers x 1 core: cluster up in %.1f s; grid of %d cells %.1f s (driver start to end)  %.0f cells/hour\n' \
  "$WORKERS" "$(echo "$t1 - $t0" | bc -l)" "$cells" "$secs" "$(echo "$cells * 3600 / $secs" | bc -l)"
