#!/usr/bin/env bash
# Installs every Debian 12 package rnull needs to build, test and benchmark.
# Idempotent; run as root (or with sudo available). RNULL_DEPS_KERNEL=0 skips the VM test's extras.
set -euo pipefail
pkgs=(
  build-essential cmake pkg-config git
  nbdkit nbdkit-plugin-dev libnbd-dev libnbd-bin libev-dev check libgnutls28-dev gnutls-bin
  qemu-utils fio nbd-client sysstat
  clang clang-format llvm libclang-rt-14-dev valgrind
  iproute2 python3 python3-libnbd groff-base man-db strace jq file procps util-linux
  xz-utils e2fsprogs systemd
  libfuse3-dev fuse3 socat # rnull-server --configfs (FUSE); socat speaks the control socket
  debootstrap # tests/newest: a Debian 13 chroot with today's clients
  abigail-tools # abidw/abidiff: the ABI check (tests/abi, packaging/abi-update.sh)
)
if [ "${RNULL_DEPS_KERNEL:-1}" = 1 ]; then
  pkgs+=(qemu-system-x86 busybox-static cpio socat zstd)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps.sh: all ${#pkgs[@]} packages present"
  # the VM test downloads a kernel .deb: it needs package lists that know one
  if [ "${RNULL_DEPS_KERNEL:-1}" = 1 ] && [ -z "$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null)" ]; then
    $SUDO apt-get update -qq
  fi
  exit 0
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
