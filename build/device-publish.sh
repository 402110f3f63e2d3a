#!/usr/bin/env bash
# A self-contained publish of the GPU test runner and the otnative CLI into build/device (git-ignored), to copy to a
# GPU machine without a .NET SDK. Framework assemblies are trimmed (ours are kept whole: tests find them by
# reflection) to stay under the device tool's 64 MiB carry limit. Prints the folder's size.
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/device
rm -rf "$out"
dotnet publish tests/OtNative.DeviceRunner -c Release -p:DevicePublish=true -p:DebugType=none -o "$out/bin" | grep -E ' error |warning NETSDK' || true
[ -x "$out/bin/OtNative.DeviceRunner" ] || { echo "device-publish: the publish failed" >&2; exit 1; }
# The prebuilt kernels are optional (NVRTC compiles the embedded sources otherwise); the scripts travel along.
cp build/device-check.sh "$out/"
du -sh "$out" | cut -f1
