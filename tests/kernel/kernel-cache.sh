#!/usr/bin/env bash
# Fetches a Debian amd64 kernel of one series once and keeps what the VM test
# needs: the uncompressed vmlinux (booting a compressed bzImage costs seconds
# of decompression under TCG) and the unpacked module tree.
# usage: kernel-cache.sh [SERIES]
#   6.1 (default): Debian 12's linux-image-6.1.0-*-amd64, with the host's apt;
#   6.12: Debian 13's linux-image-6.12.*+deb13-amd64, with the apt of the
#         trixie chroot (tests/newest/trixie-chroot.sh); modules are .ko.xz.
# Prints the kernel directory (containing vmlinux, release, modules/) on stdout.
# Exit 77 when no kernel can be had (no mirror reachable): the test skips.
# Cache dir: $RNULL_KERNEL_CACHE, else /var/cache/rnull-kernel (survives
# rebuilds) when writable, else $RNULL_BUILD_DIR/kernel-cache.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
series=${1:-6.1}
skip() { echo "SKIP: $*" >&2; exit 77; }
case $series in
6.1)
  pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' link=current apt=()
  ;;
6.12)
  pattern='^linux-image-6\.12\.[0-9]+\+deb13-amd64$' link=current-6.12
  root=$("$here/../newest/trixie-chroot.sh") || skip "no trixie chroot for Debian 13's kernel"
  apt=(chroot "$root")
  ;;
*) echo "kernel-cache: unknown series '$series' (6.1|6.12)" >&2; exit 2 ;;
esac

cache=${RNULL_KERNEL_CACHE:-}
if [ -z "$cache" ]; then
  cache=/var/cache/rnull-kernel
  { mkdir -p "$cache" && [ -w "$cache" ]; } 2>/dev/null || cache=${RNULL_BUILD_DIR:?}/kernel-cache
fi
mkdir -p "$cache" || { echo "kernel-cache: cannot create $cache" >&2; exit 77; }
exec 9>"$cache/.lock"
flock -w 600 9 || { echo "kernel-cache: lock on $cache busy for 600 s" >&2; exit 1; }

# A complete earlier extraction wins: no apt calls on the common path.
if [ -f "$cache/$link/complete" ]; then
  readlink -f "$cache/$link"
  exit 0
fi

command -v apt-get >/dev/null && command -v dpkg >/dev/null || skip "no apt-get/dpkg to fetch a kernel"

pkg=$("${apt[@]}" apt-cache pkgnames "linux-image-$series." 2>/dev/null |
  grep -E "$pattern" | sort -V | tail -n 1 || true)
[ -n "$pkg" ] || skip "apt-cache knows no kernel matching $pattern (run apt-get update)"
release=${pkg#linux-image-}

work=$(mktemp -d "$cache/fetch.XXXXXX")
trap 'rm -rf "$work" ${dl:+"$dl"}' EXIT
if [ ${#apt[@]} -eq 0 ]; then
  (cd "$work" && apt-get download "$pkg" >&2) || skip "apt-get download $pkg failed (no mirror?)"
  deb=$(ls "$work"/*.deb)
else # download where the chroot's apt can write, then move it out
  dl=$(mktemp -d "$root/tmp/kernel.XXXXXX")
  "${apt[@]}" sh -c "cd '${dl#"$root"}' && apt-get download '$pkg'" >&2 2>&1 ||
    skip "apt-get download $pkg in $root failed (no mirror?)"
  deb=$(ls "$dl"/*.deb)
fi
dpkg -x "$deb" "$work/root"

bz="$work/root/boot/vmlinuz-$release"
[ -f "$bz" ] || { echo "kernel-cache: $pkg has no /boot/vmlinuz-$release" >&2; exit 1; }
# The bzImage wraps an xz stream (CONFIG_KERNEL_XZ, Debian 12) or a zstd one
# (CONFIG_KERNEL_ZSTD, Debian 13): find its magic and unpack it.
off=$(LC_ALL=C grep -m 1 -aboP '\xfd7zXZ\x00' "$bz" | cut -d: -f1 || true)
if [ -n "$off" ]; then
  # (process substitution: tail's SIGPIPE once xz has its stream is expected)
  xz -dc --single-stream <(tail -c +$((off + 1)) "$bz") >"$work/vmlinux"
else
  off=$(LC_ALL=C grep -m 1 -aboP '\x28\xb5\x2f\xfd' "$bz" | cut -d: -f1 || true)
  [ -n "$off" ] || { echo "kernel-cache: no xz or zstd payload in $bz" >&2; exit 1; }
  command -v zstd >/dev/null || skip "zstd not installed (packaging/deps.sh) to unpack $bz"
  # zstd decodes the frame, then fails on the bytes the bzImage puts after
  # it (the decompressed size): the ELF check below judges the result.
  tail -c +$((off + 1)) "$bz" | zstd -dcq >"$work/vmlinux" 2>/dev/null || true
fi
[ "$(head -c 4 "$work/vmlinux" | tail -c 3)" = ELF ] || { echo "kernel-cache: unpacked payload is not ELF" >&2; exit 1; }

dest="$cache/$release"
rm -rf "$dest"
mkdir -p "$dest"
mv "$work/vmlinux" "$dest/vmlinux"
# (merged /usr from Debian 13 on: the modules are under usr/lib)
for m in "$work/root/lib/modules/$release" "$work/root/usr/lib/modules/$release"; do
  [ -d "$m" ] && mv "$m" "$dest/modules"
done
[ -d "$dest/modules" ] || { echo "kernel-cache: $pkg has no module tree" >&2; exit 1; }
cp "$work/root/boot/config-$release" "$dest/config"
echo "$release" >"$dest/release"
touch "$dest/complete"
ln -sfn "$release" "$cache/$link"
readlink -f "$cache/$link"
