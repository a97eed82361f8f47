#!/usr/bin/env bash
# Packs everything the GPU check needs into dist/ (git-ignored), for a GPU machine that has no Java
# and no network. Run here, from anywhere in the repository:
#
#   bench/gpu/package.sh
#
# dist/asymbp.jar                 the application (shaded; kernels, PTX/cubins and MNIST inside),
#                                 minus native libraries for other platforms
# dist/asymbp-tests.jar           the compiled tests (conformance suite, cuda tests)
# dist/junit-console.jar          JUnit's console launcher (runs the tests without Maven)
# dist/jre.tar.gz                 a jlinked Temurin 25 runtime (~20 MB)
# dist/ocl/                       ocl-icd's libOpenCL + an ICD file naming NVIDIA's OpenCL driver,
#                                 so the OpenCL backend can run on the GPU machine too (optional)
# The device tool carries at most 64 MiB; the script fails if dist/ is larger.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
JDK="${JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}"
JUNIT_CONSOLE_VERSION="${JUNIT_CONSOLE_VERSION:-1.11.4}"
LIMIT_MIB=64

[[ -x "$JDK/bin/jlink" ]] || { echo "package: no jlink at $JDK/bin/jlink (set JDK=...)" >&2; exit 2; }

echo "package: building the jar and the test classes (mvn -q -DskipTests package)"
mvn -q -o -DskipTests package 2>/dev/null || mvn -q -DskipTests package

rm -rf dist
mkdir -p dist/ocl/vendors

# The shaded jar carries natives for every platform and JCuda's PTX compiler (24 MB) that we never
# use (the kernels are prebuilt); keep only linux-x86_64 and drop the PTX compiler and NVRTC.
cp target/asymbp.jar dist/asymbp.jar
drop=$(unzip -Z1 dist/asymbp.jar | grep -E '\.(so|dll|dylib|jnilib)$' \
    | grep -v -E 'linux-x86_64|/Linux/x86_64/' ; unzip -Z1 dist/asymbp.jar | grep -E 'JNvPTXCompiler|JNvrtc' || true)
if [[ -n "$drop" ]]; then
    # shellcheck disable=SC2086
    zip -q -d dist/asymbp.jar $drop
fi

(cd target/test-classes && zip -q -r "$root/dist/asymbp-tests.jar" .)

junit="$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone/$JUNIT_CONSOLE_VERSION/junit-platform-console-standalone-$JUNIT_CONSOLE_VERSION.jar"
if [[ ! -f "$junit" ]]; then
    mvn -q dependency:get -Dartifact="org.junit.platform:junit-platform-console-standalone:$JUNIT_CONSOLE_VERSION"
fi
cp "$junit" dist/junit-console.jar

# A small runtime: the modules the engine, its libraries and the JUnit launcher use.
modules=java.base,java.logging,java.management,jdk.management,jdk.unsupported,jdk.incubator.vector,java.sql,java.xml,jdk.zipfs
rm -rf dist/jre-tmp
"$JDK/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=zip-6 --output dist/jre-tmp
tar -C dist/jre-tmp -czf dist/jre.tar.gz .
rm -rf dist/jre-tmp

# OpenCL through NVIDIA's ICD: JOCL dlopens libOpenCL.so; ocl-icd reads the vendors folder named by
# OCL_ICD_VENDORS. A plain copy (no symlinks: the device tool does not carry links).
ocl="$(ls /usr/lib/x86_64-linux-gnu/libOpenCL.so.1.* 2>/dev/null | head -1 || true)"
if [[ -n "$ocl" ]]; then
    cp "$ocl" dist/ocl/libOpenCL.so
    cp "$ocl" dist/ocl/libOpenCL.so.1
    echo "libnvidia-opencl.so.1" > dist/ocl/vendors/nvidia.icd
else
    echo "package: no ocl-icd libOpenCL here; the GPU check will skip OpenCL" >&2
fi

git -C "$root" rev-parse HEAD > dist/COMMIT 2>/dev/null || true
size_kib=$(du -sk dist | cut -f1)
echo "package: dist/ is $((size_kib / 1024)) MiB ($size_kib KiB):"
ls -la dist dist/ocl
if (( size_kib > LIMIT_MIB * 1024 )); then
    echo "package: dist/ exceeds ${LIMIT_MIB} MiB, the device tool would not carry it" >&2
    exit 1
fi
