#!/usr/bin/env bash
# Fetches a Debian 6.1 amd64 kernel once and keeps what the VM test needs:
# the uncompressed vmlinux (booting a compressed bzImage costs seconds of
# decompression under TCG) and the unpacked module tree.
# Prints the kernel directory (containing vmlinux, release, modules/) on stdout.
# Exit 77 when no kernel can be had (no mirror reachable): the test skips.
# Cache dir: $RNULL_KERNEL_CACHE, else /var/cache/rnull-kernel (survives
# rebuilds) when writable, else $RNULL_BUILD_DIR/kernel-cache.
set -euo pipefail

cache=${RNULL_KERNEL_CACHE:-}
if [ -z "$cache" ]; then
  cache=/var/cache/rnull-kernel
  { mkdir -p "$cache" && [ -w "$cache" ]; } 2>/dev/null || cache=${RNULL_BUILD_DIR:?}/kernel-cache
fi
mkdir -p "$cache" || { echo "kernel-cache: cannot create $cache" >&2; exit 77; }
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "kernel-cache: lock on $cache busy for 600 s" >&2; exit 1; }

# A complete earlier extraction wins: no apt calls on the common path.
if [ -f "$cache/current/complete" ]; then
  readlink -f "$cache/current"
  exit 0
fi

skip() { echo "SKIP: $*" >&2; exit 77; }
command -v apt-get >/dev/null && command -v dpkg >/dev/null || skip "no apt-get/dpkg to fetch a kernel"

pkg=$(apt-cache pkgnames linux-image-6.1.0- 2>/dev/null |
  grep -E '^linux-image-6\.1\.0-[0-9]+-amd64$' | sort -V | tail -n 1 || true)
[ -n "$pkg" ] || skip "apt-cache knows no linux-image-6.1.0-*-amd64 (run apt-get update)"
release=${pkg#linux-image-}

work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "$pkg" >&2) || skip "apt-get download $pkg failed (no mirror?)"
deb=$(ls "$work"/*.deb)
dpkg -x "$deb" "$work/root"

bz="$work/root/boot/vmlinuz-$release"
[ -f "$bz" ] || { echo "kernel-cache: $pkg has no /boot/vmlinuz-$release" >&2; exit 1; }
# The bzImage wraps an xz stream (CONFIG_KERNEL_XZ): find its magic and unpack it.
off=$(LC_ALL=C grep -m 1 -aboP '\xfd7zXZ\x00' "$bz" | cut -d: -f1 || true)
[ -n "$off" ] || { echo "kernel-cache: no xz payload in $bz" >&2; exit 1; }
# (process substitution: tail's SIGPIPE once xz has its stream is expected)
xz -dc --single-stream <(tail -c +$((off + 1)) "$bz") >"$work/vmlinux"
[ "$(head -c 4 "$work/vmlinux" | tail -c 3)" = ELF ] || { echo "kernel-cache: unpacked payload is not ELF" >&2; exit 1; }

dest="$cache/$release"
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/vmlinux" "$dest/vmlinux"
mv "$work/root/lib/modules/$release" "$dest/modules"
cp "$work/root/boot/config-$release" "$dest/config"
echo "$release" >"$dest/release"
touch "$dest/complete"
ln -sfn "$release" "$cache/current"
readlink -f "$cache/current"
