#!/usr/bin/env bash
# The test command of the README: restores, builds and runs every test suite on a fresh machine,
# then prints one summary line "N passed, N failed, N skipped". Exit status 0 only when all pass.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Native LAPACK/BLAS for the dense linear algebra (the managed fallback is tested too).
. build/native-lapack.sh

dotnet restore OtNative.sln || exit 1
dotnet build OtNative.sln -c Release --no-restore || exit 1
# NVRTC compile-checks every CUDA kernel on machines without a GPU (Debian non-free libnvrtc11.2).
if build/install-nvrtc.sh >/dev/null; then export OTNATIVE_REQUIRE_NVRTC=1; fi
# MPICH for the MPI tests and `bench mpi` (MPI.NET's msmpi.dll import resolves to libmpich.so.12).
if ! command -v mpiexec >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mpich libmpich-dev >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mpich libmpich-dev >/dev/null; }; } ||
    echo "warning: could not install mpich" >&2
fi
# The kernels' shared arithmetic, compiled by g++ and tested by CTest (GoogleTest).
if [ "$(id -u)" = 0 ] && ! [ -f /usr/lib/x86_64-linux-gnu/libgtest.a ] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libgtest-dev cmake g++ >/dev/null || exit 1
fi
cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=Release >/dev/null || exit 1
cmake --build build/cmake >/dev/null || exit 1
(cd build/cmake && ctest --output-on-failure) 2>&1 | tee "$log.ctest"
ctest_status=${PIPESTATUS[0]}
# The unit suites, then the benchmark commands' short runs (category Benchmarks), which CI runs too.
dotnet test OtNative.sln -c Release --no-build --filter "Category!=Benchmarks&Category!=Mpi" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
dotnet test tests/OtNative.Tests -c Release --no-build --filter "Category=Benchmarks" 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# Under a two-rank mpiexec job on Debian's MPICH, through the plain runner (one process a rank): the MPI tests
# (category Mpi), then the core tests' problem properties on the MPI backend (each rank draws the same problems from
# rank 0's seed). Counted once, from rank 0's summary; a non-zero exit of any rank, or a hang past the timeout, is a
# failure.
mpi_passed=0 mpi_failed=0 mpi_skipped=0
mpi_job() {
  local out job_status p f s
  out=$(timeout 600 mpiexec -n 2 dotnet tests/OtNative.DeviceRunner/bin/Release/net10.0/OtNative.DeviceRunner.dll "$@" 2>&1)
  job_status=$?
  echo "$out"
  read -r p f s < <(echo "$out" | grep -oE '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' | head -1 | awk '{print $1, $3, $5}')
  if [ "$job_status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then f=1; fi
  mpi_passed=$((mpi_passed + ${p:-0})) mpi_failed=$((mpi_failed + ${f:-0})) mpi_skipped=$((mpi_skipped + ${s:-0}))
}
if command -v mpiexec >/dev/null 2>&1; then
  mpi_job tests MpiTests
  mpi_job properties
else
  echo "note: mpiexec is missing and cannot be installed here: the MPI tests and properties did not run" >&2
  mpi_skipped=$(( $(grep -c '\[MpiFact\]' tests/OtNative.Tests/MpiTests.cs) + $(cat tests/OtNative.Core.Tests/*.fs | grep -c '^\[<ProblemProperty(') ))
fi

# The packages, a fresh application restored from them (samples/QuickStart, the README's C# section) and the
# otnative tool installed from its package. Each is one check in the summary.
package_checks=0 package_failures=0
check() { package_checks=$((package_checks + 1)); if "$@"; then echo "PASS $*"; else echo "FAIL $*"; package_failures=$((package_failures + 1)); fi; }
readme_matches_sample() {
  diff <(awk '/^This is `samples\/QuickStart`/{f=1} f&&/^```csharp/{g=1;next} g&&/^```/{exit} g' README.md) samples/QuickStart/Program.cs
}
quickstart_runs() {
  rm -rf "${NUGET_PACKAGES:-$HOME/.nuget/packages}"/otnative*   # a re-packed version must not come from the cache
  local out
  out=$(dotnet run --project samples/QuickStart -c Release 2>&1) || { echo "$out"; return 1; }
  echo "$out"
  # Six numbers (value, sharp, divergence, Hessian size 240, λ, batch gradient rows 120), then the rejected NaN.
  echo "$out" | grep -qE '^[0-9.eE+-]+ [0-9.eE+-]+ [0-9.eE+-]+ 240 [0-9.eE+-]+ 120$' && echo "$out" | grep -qx 'rejected: x'
}
tool_installs() {
  local tools
  tools=$(mktemp -d)
  dotnet tool install --tool-path "$tools" --add-source artifacts/packages OtNative.Cli >/dev/null && "$tools/otnative" info >/dev/null
  local rc=$?
  rm -rf "$tools"
  return $rc
}
rm -rf artifacts/packages
check dotnet pack OtNative.sln -c Release --no-build -o artifacts/packages -v quiet
check readme_matches_sample
check quickstart_runs
check tool_installs

# The second-order properties once more on the managed (Math.NET) linear-algebra provider.
OTNATIVE_LINALG=managed dotnet test tests/OtNative.Core.Tests -c Release --no-build \
  --filter "FullyQualifiedName~SecondOrderTests|FullyQualifiedName~ComparisonTests" 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1

# dotnet test prints one "Failed: F, Passed: P, Skipped: S" line per test assembly.
read -r passed failed skipped < <(grep -oE 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" |
  awk -F'[:,]' '{f+=$2; p+=$4; s+=$6} END {print p+0, f+0, s+0}')
# CTest: "N% tests passed, F tests failed out of T".
read -r c_failed c_total < <(grep -oE '[0-9]+ tests failed out of [0-9]+' "$log.ctest" | awk '{print $1, $6}')
passed=$((passed + ${c_total:-0} - ${c_failed:-0} + package_checks - package_failures + ${mpi_passed:-0}))
failed=$((failed + ${c_failed:-0} + package_failures + ${mpi_failed:-0})); skipped=$((skipped + ${mpi_skipped:-0}))
[ "$ctest_status" -eq 0 ] || status=1
rm -f "$log.ctest"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
