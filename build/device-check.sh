#!/usr/bin/env bash
# Runs on the GPU machine from a copy of the repository with build/device present (see build/device-publish.sh):
# builds the fatbin with nvcc when it can, runs the CUDA and kernel tests against the CPU reference, the problem
# properties on CPU and CUDA, then `otnative bench gpu`, and prints one table at the end. Meant to finish well under
# 10 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
bin=build/device/bin
runner="$bin/OtNative.DeviceRunner"
[ -x "$runner" ] || { echo "device-check: $runner missing; run build/device-publish.sh first" >&2; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
if command -v nvcc >/dev/null 2>&1; then
  # The flags CMakeLists.txt uses too (native/nvcc-fatbin.args).
  # shellcheck disable=SC2046
  nvcc $(cat native/nvcc-fatbin.args) -o "$bin/otnative_kernels.fatbin" native/transport.cu && echo "fatbin built with $(nvcc --version | tail -1)"
fi
out=${OUT:-build/device/out}
mkdir -p "$out"
"$runner" cli info | tee "$out/info.txt"
"$runner" tests Cuda KernelCompile 2>&1 | tee "$out/tests.txt"
tests_status=${PIPESTATUS[0]}
# The core tests' problem properties on every local backend: the CPU reference and CUDA.
timeout 300 "$runner" properties 2>&1 | tee "$out/properties.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || tests_status=1
timeout 420 "$runner" cli bench gpu --json "$out/bench-gpu.json" 2>&1 | tee "$out/bench.txt"
bench_status=${PIPESTATUS[0]}
echo "== summary =="
tail -1 "$out/tests.txt"
tail -1 "$out/properties.txt"
grep -E '│|┌|└|├' "$out/bench.txt" || true
[ "$tests_status" -eq 0 ] && [ "$bench_status" -eq 0 ]
