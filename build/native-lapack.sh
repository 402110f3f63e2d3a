#!/usr/bin/env bash
# Installs the native LAPACK/BLAS the dense linear algebra prefers (Debian's liblapacke and OpenBLAS) when they are
# missing and this machine can install packages; otherwise says once that the managed fallback will be used.
# Sourced by build/provision.sh, which both of the README's commands source, so they set the machine up alike.
# The listing is captured, not piped into grep -q: under pipefail (both callers set it) grep's early exit makes
# ldconfig die of SIGPIPE, and the check then failed on machines that have both libraries.
libraries=$(ldconfig -p 2>/dev/null || true)
if [[ $libraries != *liblapacke.so.3* || $libraries != *libopenblas.so.0* ]]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing native LAPACK/BLAS (libopenblas0-pthread, liblapacke) for the dense linear algebra…" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas0-pthread liblapacke >/dev/null ||
      echo "warning: could not install liblapacke/libopenblas0-pthread; the managed (Math.NET) fallback will be used" >&2
  else
    echo "note: liblapacke/libopenblas0-pthread are missing and cannot be installed here (needs root and apt-get): the dense linear algebra uses the slower managed (Math.NET) fallback" >&2
  fi
fi
unset libraries
