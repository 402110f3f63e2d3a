#!/usr/bin/env bash
# The test command of the README: sets the machine up (build/provision.sh --tests), builds, runs every stage below and
# prints one summary line "N passed, N failed, N skipped". Exit status 0 only when all pass.
set -uo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp)
trap 'rm -f "$log" "$log.ctest"' EXIT
status=0
. build/provision.sh --tests

build() {
  dotnet restore OtNative.sln && dotnet build OtNative.sln -c Release --no-restore
}

# The kernels' shared arithmetic, compiled by g++ and tested by CTest (GoogleTest); skipped where CMake or GoogleTest is missing.
native_tests() {
  command -v cmake >/dev/null 2>&1 || { echo "note: CMake is missing: the native tests did not run" >&2; return 0; }
  cmake -S . -B build/cmake -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build build/cmake >/dev/null || return 1
  (cd build/cmake && ctest --output-on-failure) 2>&1 | tee "$log.ctest"
  return "${PIPESTATUS[0]}"
}

# The unit suites, then the benchmark commands' short runs (category Benchmarks), which CI runs too.
unit_tests() {
  local rc=0
  dotnet test OtNative.sln -c Release --no-build --filter "Category!=Benchmarks&Category!=Mpi" 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  dotnet test tests/OtNative.Tests -c Release --no-build --filter "Category=Benchmarks" 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
  return $rc
}

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
mpi_tests() {
  if command -v mpiexec >/dev/null 2>&1; then
    mpi_job tests MpiTests
    mpi_job properties
  else
    echo "note: mpiexec is missing: the MPI tests and properties did not run" >&2
    mpi_skipped=$(( $(grep -c '\[MpiFact\]' tests/OtNative.Tests/Mpi/MpiTests.cs) + $(grep -rh --include='*.fs' '^\[<ProblemProperty(' tests/OtNative.Core.Tests | wc -l) ))
  fi
}

# The packages, fresh applications restored from them (samples/: QuickStart, the README's C# section; Flow, Batch,
# Unbalanced and PropertyTests) and the otnative tool installed from its package. Each is one check in the summary.
package_checks=0 package_failures=0
check() { package_checks=$((package_checks + 1)); if "$@"; then echo "PASS $*"; else echo "FAIL $*"; package_failures=$((package_failures + 1)); fi; }
readme_matches_sample() {
  diff <(awk '/^This is `samples\/QuickStart`/{f=1} f&&/^```csharp/{g=1;next} g&&/^```/{exit} g' README.md) samples/QuickStart/Program.cs
}
# Runs a command of samples/SAMPLE restored as a new user's application would be: an empty NuGet cache, the sample's
# nuget.config (the feed and the packed folder), nothing else; then removes the cache and the sample's build outputs.
# Prints the output and leaves it in the caller's $out, and the packages the restore fetched (the cache's folders) in
# $cached; returns the command's exit status.
in_fresh_cache() {
  local sample=$1 cache rc
  shift
  cache=$(mktemp -d)
  out=$(NUGET_PACKAGES="$cache" "$@" 2>&1)
  rc=$?
  cached=$(ls "$cache")
  rm -rf "$cache" "samples/$sample/obj" "samples/$sample/bin"
  echo "$out"
  return "$rc"
}
quickstart_runs() {
  local out cached
  in_fresh_cache QuickStart dotnet run --project samples/QuickStart -c Release || return 1
  # Six numbers (value, sharp, divergence, Hessian size 240, λ, batch gradient rows 120), then the rejected NaN. An
  # application without MPI restores no MPI.NET: it is the optional OtNative.Mpi package's alone.
  echo "$out" | grep -qE '^[0-9.eE+-]+ [0-9.eE+-]+ [0-9.eE+-]+ 240 [0-9.eE+-]+ 120$' && echo "$out" | grep -qx 'rejected: x' &&
    ! echo "$cached" | grep -qix 'mpi.net'
}
# A gradient flow under the debiased divergence: from about 8 at the start (a blob 2√2 away from a ring) down by more
# than 100× (the program exits 1 otherwise, too).
flow_converges() {
  local out start end
  in_fresh_cache Flow dotnet run --project samples/Flow -c Release || return 1
  start=$(echo "$out" | sed -nE 's/^divergence at the start: ([0-9.eE+-]+)$/\1/p')
  end=$(echo "$out" | sed -nE 's/^divergence after [0-9]+ steps: ([0-9.eE+-]+)$/\1/p')
  awk -v s="$start" -v e="$end" 'BEGIN { exit !(s > 4 && s < 16 && e > 0 && s / e > 100) }'
}
# TrySolveBatch: one line per problem; the problem with a NaN fails alone (an ArgumentException naming its array), the
# three others are solved, the clouds shifted by 2 at about 2² = 4.
batch_outcomes() {
  local out
  in_fresh_cache Batch dotnet run --project samples/Batch -c Release || return 1
  [ "$(echo "$out" | grep -cE '^[a-z0-9-]+: value [0-9.]+ sharp [0-9.]+ iterations [0-9]+ ')" -eq 3 ] &&
    echo "$out" | grep -qE '^with-nan: failed \(ArgumentException\) with-nan\.X contains a non-finite value' &&
    echo "$out" | awk '$1 == "shifted-by-2:" { found = 1; ok = $3 > 4 && $3 < 4.5 } END { exit !(found && ok) }'
}
# Unbalanced transport with ten outliers (mass 10/210): balanced transport moves all of their mass, the relaxed one
# none of it (the program exits 1 otherwise, too).
unbalanced_leaves_outliers() {
  local out
  in_fresh_cache Unbalanced dotnet run --project samples/Unbalanced -c Release || return 1
  echo "$out" | awk '$1 == "balanced:" && $NF > 0.04 { b = 1 } $1 == "unbalanced:" && $NF < 1e-6 { u = 1 } END { exit !(b && u) }'
}
# An application's xunit property test on OtNative.Testing (FsCheck through its C# API) passes under dotnet test.
property_tests_pass() {
  local out
  in_fresh_cache PropertyTests dotnet test samples/PropertyTests -c Release || return 1
  echo "$out" | grep -qE 'Failed: +0, Passed: +1, Skipped: +0, Total: +1'
}
tool_installs() {
  local tools rc
  tools=$(mktemp -d)
  # The plots need SkiaSharp's native library: the one platform's natives the package keeps must load.
  dotnet tool install --tool-path "$tools" --add-source artifacts/packages --prerelease OtNative.Cli >/dev/null && "$tools/otnative" info >/dev/null &&
    "$tools/otnative" regress gmm -n 40 --batch 20 --max-newton 2 --max-gd 10 --plots "$tools/plots" >/dev/null && [ -s "$tools/plots/loss.png" ]
  rc=$?
  rm -rf "$tools"
  return $rc
}
packages() {
  rm -rf artifacts/packages
  check dotnet pack OtNative.sln -c Release --no-build -o artifacts/packages -v quiet
  check readme_matches_sample
  check dotnet run --project build/SurfaceCheck -c Release -- artifacts/packages
  check quickstart_runs
  check flow_converges
  check batch_outcomes
  check unbalanced_leaves_outliers
  check property_tests_pass
  check tool_installs
}

# The second-order properties once more on the managed (Math.NET) linear-algebra provider.
managed_linear_algebra() {
  OTNATIVE_LINALG=managed dotnet test tests/OtNative.Core.Tests -c Release --no-build \
    --filter "FullyQualifiedName~SecondOrderTests|FullyQualifiedName~DivergenceTests|FullyQualifiedName~ComparisonTests" 2>&1 | tee -a "$log"
  return "${PIPESTATUS[0]}"
}

# One line from every stage's counts: dotnet test prints "Failed: F, Passed: P, Skipped: S" per test assembly, CTest
# "N% tests passed, F tests failed out of T".
summary() {
  local passed failed skipped c_failed c_total
  read -r passed failed skipped < <(grep -oE 'Failed: +[0-9]+, Passed: +[0-9]+, Skipped: +[0-9]+' "$log" |
    awk -F'[:,]' '{f+=$2; p+=$4; s+=$6} END {print p+0, f+0, s+0}')
  read -r c_failed c_total < <(grep -soE '[0-9]+ tests failed out of [0-9]+' "$log.ctest" | awk '{print $1, $6}')
  passed=$((passed + ${c_total:-0} - ${c_failed:-0} + package_checks - package_failures + mpi_passed))
  failed=$((failed + ${c_failed:-0} + package_failures + mpi_failed)); skipped=$((skipped + mpi_skipped))
  if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
  [ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
}

build || { echo "0 passed, 1 failed, 0 skipped"; exit 1; }
native_tests || status=1
unit_tests || status=1
mpi_tests
packages
managed_linear_algebra || status=1
summary
