#!/usr/bin/env bash
# Installs NVRTC (Debian non-free: libnvrtc11.2) so that every CUDA kernel is compile-checked on machines
# without a GPU. Adds the non-free component in its own sources file, built from the machine's own Debian
# source (the first deb.debian.org stanza of /etc/apt/sources.list.d/debian.sources), which stays untouched.
# Prints the library it finds; exit 1 when NVRTC cannot be made available.
set -euo pipefail
find_nvrtc() { ldconfig -p 2>/dev/null | grep -oE 'libnvrtc\.so\.[0-9.]+' | head -1; }
if lib=$(find_nvrtc) && [ -n "$lib" ]; then echo "$lib"; exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-nvrtc: not root or no apt-get; install libnvrtc11.2 (Debian non-free) by hand" >&2; exit 1
fi
src=/etc/apt/sources.list.d/debian.sources
extra=/etc/apt/sources.list.d/otnative-non-free.sources
if [ ! -f "$extra" ]; then
  if [ -f "$src" ]; then
    # The first stanza (the main archive), with Components replaced by non-free.
    awk 'BEGIN{RS=""; FS="\n"} NR==1 {for (i=1;i<=NF;i++) { if ($i ~ /^Components:/) print "Components: non-free"; else if ($i !~ /^#/) print $i } }' "$src" > "$extra"
  else
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s\nComponents: non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$codename" > "$extra"
  fi
fi
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libnvrtc11.2 >/dev/null
ldconfig
lib=$(find_nvrtc)
[ -n "$lib" ] || { echo "install-nvrtc: libnvrtc11.2 installed but no libnvrtc.so.* found" >&2; exit 1; }
echo "$lib"
