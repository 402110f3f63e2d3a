#!/usr/bin/env bash
# Sets a fresh Debian machine up for the README's two commands; sourced by both (and so by .ci/run), under their
# `set -euo pipefail`. Every install needs root and apt-get; without them each missing piece is said in one line and
# what depends on it falls back or skips.
#   . build/provision.sh           what `build/otnative` needs: native LAPACK/BLAS for the dense linear algebra
#   . build/provision.sh --tests   that, and what `build/test.sh` needs: NVRTC (to compile-check the CUDA kernels),
#                                  MPICH (the MPI tests), GoogleTest, CMake and g++ (the kernels' host-tested arithmetic)
provision_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$provision_root/build/native-lapack.sh"
provision_can_install() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
provision_apt() {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}
if [ "${1:-}" = "--tests" ]; then
  # NVRTC compile-checks every CUDA kernel on machines without a GPU (Debian non-free libnvrtc11.2).
  if "$provision_root/build/install-nvrtc.sh" >/dev/null; then export OTNATIVE_REQUIRE_NVRTC=1; fi
  # MPICH for the MPI tests and `bench mpi` (MPI.NET's msmpi.dll import resolves to libmpich.so.12).
  if ! command -v mpiexec >/dev/null 2>&1; then
    if provision_can_install; then provision_apt mpich libmpich-dev || echo "warning: could not install mpich" >&2
    else echo "note: mpich is missing and cannot be installed here: the MPI tests will not run" >&2; fi
  fi
  # The kernels' shared arithmetic, compiled by g++ and tested by CTest (GoogleTest).
  if ! [ -f /usr/lib/x86_64-linux-gnu/libgtest.a ] || ! command -v cmake >/dev/null 2>&1; then
    if provision_can_install; then provision_apt libgtest-dev cmake g++ || echo "warning: could not install GoogleTest/CMake" >&2
    else echo "note: GoogleTest or CMake is missing and cannot be installed here: the native tests will not run" >&2; fi
  fi
fi
unset -f provision_can_install provision_apt
unset provision_root
