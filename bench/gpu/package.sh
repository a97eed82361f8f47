#!/usr/bin/env bash
# Packs what the GPU check needs beyond the working tree into dist/ (git-ignored), for a GPU machine that
# has no Java and no network. Run here, from anywhere in the repository:
#
#   bench/gpu/package.sh
#
# dist/asymbp.jar           the application, slimmed for the GPU: no MNIST (the tree's datasets/mnist
#                           travels anyway and the loader falls back to it), linux-x86_64 natives only,
#                           no JCuda PTX compiler/NVRTC (the kernels are prebuilt), no plotting/PDF
#                           libraries (xchart, pdfbox, fontbox: only `grid` plots) and no JMH
# dist/asymbp-tests.jar     the compiled tests (the check runs asymbp.cuda, asymbp.conformance, asymbp.opencl)
# dist/junit-console.jar    JUnit's console launcher (runs the tests without Maven)
# dist/jre.tar.xz           a jlinked Temurin 25 runtime: only the modules the check uses, Java debug
#                           attributes and native symbols stripped, no man pages or headers; stored
#                           uncompressed inside (--compress=zip-0) and xz'd whole, which is about half
#                           the size of jlink's own zip compression under gzip
# dist/ocl/                 ocl-icd's libOpenCL + an ICD file naming NVIDIA's OpenCL driver (optional)
# dist/cuda-tests.expected  every CUDA test the check must see pass, listed by running the same selection
#                           here (where they are skipped for want of a GPU): the verdict's floor
#
# Then bench/gpu/travel-size.sh measures tracked + untracked-not-ignored files + dist/ and fails above
# 56 MiB (the device tool refuses 64).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# jlink from Temurin (every machine of this project's kind has one under /usr/lib/jvm; Debian's JDK 17 has no jmods).
JDK="${JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
[[ -x "$JDK/bin/jlink" ]] || JDK="$(ls -d /usr/lib/jvm/temurin-*-jdk* 2>/dev/null | sort -V | tail -1)"
JUNIT_CONSOLE_VERSION="${JUNIT_CONSOLE_VERSION:-1.11.4}"
# What the check runs, and nothing else: the engine (java.base, the Vector API, jdk.unsupported), JCuda and
# JOCL's loaders (java.logging), Jackson and picocli (java.sql), and JUnit's scan of jars (jdk.zipfs: without
# it the console finds no test in a jar, and says so only in a warning). Found with jdeps --print-module-deps;
# the plotting classes that need java.desktop are not in the slim jar. bench/gpu/rehearse.sh proves it is enough.
MODULES="java.base,java.logging,java.sql,jdk.unsupported,jdk.incubator.vector,jdk.zipfs"

[[ -x "$JDK/bin/jlink" ]] || { echo "package: no jlink at $JDK/bin/jlink (set JDK=...)" >&2; exit 2; }
command -v xz >/dev/null || { echo "package: xz is not installed (apt-get install xz-utils)" >&2; exit 2; }

echo "package: building the jar and the test classes (mvn -q -DskipTests package)"
mvn -q -o -DskipTests package 2>/dev/null || mvn -q -DskipTests package

rm -rf dist
mkdir -p dist/ocl/vendors

cp target/asymbp.jar dist/asymbp.jar
drop=( 'datasets/*'                                                          # MNIST: the tree has it
       'org/knowm/*' 'de/rototor/*' 'de/erichseifert/*' 'org/apache/pdfbox/*' # xchart and its PDF/SVG
       'org/apache/fontbox/*' 'org/apache/commons/logging/*' 'com/madgag/*'   # writers (grid plots only)
       'org/openjdk/jmh/*' 'joptsimple/*' 'org/apache/commons/math3/*'        # JMH and its dependencies
       'asymbp/bench/*' '*/jmh_generated/*' 'META-INF/BenchmarkList' 'META-INF/CompilerHints' )
mapfile -t natives < <(unzip -Z1 dist/asymbp.jar | grep -E '\.(so|dll|dylib|jnilib)$' \
    | grep -v -E 'linux-x86_64|/Linux/x86_64/' || true)
mapfile -t unused < <(unzip -Z1 dist/asymbp.jar | grep -E 'JNvPTXCompiler|JNvrtc' || true)
zip -q -d dist/asymbp.jar "${drop[@]}" "${natives[@]}" "${unused[@]}" >/dev/null || {
    rc=$?; (( rc == 12 )) || { echo "package: zip -d failed ($rc)" >&2; exit 1; }  # 12: nothing matched
}
if unzip -Z1 dist/asymbp.jar | grep -q -E '^datasets/mnist/|^org/knowm/|^org/apache/pdfbox/'; then
    echo "package: the slim jar still carries MNIST or plotting classes" >&2; exit 1
fi

(cd target/test-classes && zip -q -r "$root/dist/asymbp-tests.jar" .)

junit="$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$JUNIT_CONSOLE_VERSION/junit-platform-console-standalone-$JUNIT_CONSOLE_VERSION.jar"
if [[ ! -f "$junit" ]]; then
    mvn -q dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_CONSOLE_VERSION"
fi
cp "$junit" dist/junit-console.jar

echo "package: jlink $MODULES"
jre="$(mktemp -d)"
trap 'rm -rf "$jre"' EXIT
"$JDK/bin/jlink" --add-modules "$MODULES" --strip-java-debug-attributes --strip-native-debug-symbols=exclude-debuginfo-files \
    --no-man-pages --no-header-files --dedup-legal-notices=error-if-not-same-content --compress=zip-0 \
    --output "$jre/image" 2>&1 | grep -v 'incubator modules' || true
[[ -x "$jre/image/bin/java" ]] || { echo "package: jlink made no runtime" >&2; exit 1; }
# Temurin's libjvm.so keeps its symbol table (5 MB); the JVM does not need it to run.
strip --strip-unneeded "$jre/image/lib/server/libjvm.so" 2>/dev/null || true
tar -C "$jre/image" -cf - . | xz -T2 -6 > dist/jre.tar.xz

# OpenCL through NVIDIA's ICD: JOCL dlopens libOpenCL.so; ocl-icd reads the vendors folder named by
# OCL_ICD_VENDORS. Plain copies (the device tool does not carry links).
ocl="$(ls /usr/lib/x86_64-linux-gnu/libOpenCL.so.1.* 2>/dev/null | head -1 || true)"
if [[ -n "$ocl" ]]; then
    cp "$ocl" dist/ocl/libOpenCL.so
    cp "$ocl" dist/ocl/libOpenCL.so.1
    echo "libnvidia-opencl.so.1" > dist/ocl/vendors/nvidia.icd
else
    echo "package: no ocl-icd libOpenCL here; the GPU check will skip OpenCL" >&2
fi

# The CUDA tests the GPU must pass: the check's own selection, run here with the packaged runtime and jars
# (no GPU: the device tests skip themselves, so each is listed without running). A failing container or
# test here fails the package: the list would be short.
echo "package: listing the CUDA tests (the check's selection, run without a GPU)"
mkdir -p "$jre/run" && tar -C "$jre/run" -xJf dist/jre.tar.xz
mapfile -t selection < bench/gpu/cuda-tests.args
env -u CI "$jre/run/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -Djava.io.tmpdir="$jre" -Dasymbp.test.backends=cuda -Dasymbp.mnist.dir="$root/datasets/mnist" \
    -jar dist/junit-console.jar execute --disable-banner --disable-ansi-colors --details=testfeed --fail-if-no-tests \
    --class-path dist/asymbp.jar:dist/asymbp-tests.jar "${selection[@]}" > "$jre/list.txt" 2>&1 || {
    grep -v -E '^\s+at ' "$jre/list.txt" | tail -30 >&2
    echo "package: the CUDA test selection fails without a GPU (above)" >&2; exit 1; }
{ grep -E '^JUnit Jupiter > .* :: (SUCCESSFUL|ABORTED|FAILED)$' "$jre/list.txt" || true; } \
    | sed -E 's/ :: [A-Z]+$//' \
    | grep -v 'linearForwardMatchesCublasWhereItLoads' | sort > dist/cuda-tests.expected
# (The cuBLAS comparison needs libcublas.so.12, which a CUDA-13-only GPU machine lacks: it may skip
# there without failing the verdict; it still runs, and must pass, where cuBLAS loads.)
grep -q -E '\[ +0 containers failed' "$jre/list.txt" || { echo "package: a test container failed" >&2; exit 1; }
n=$(wc -l < dist/cuda-tests.expected)
(( n > 0 )) || { echo "package: no CUDA test found" >&2; exit 1; }
echo "package: $n CUDA tests expected on the GPU (dist/cuda-tests.expected)"

git -C "$root" rev-parse HEAD > dist/COMMIT 2>/dev/null || true
ls -la dist dist/ocl
bash bench/gpu/travel-size.sh dist
