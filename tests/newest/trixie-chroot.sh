#!/usr/bin/env bash
# Makes, once, the Debian 13 ("trixie") chroot whose clients the newest tier
# runs (nbdkit 1.42, libnbd 1.22, qemu 10, fio 3.39, nbd-client 3.26), and
# prints its directory. Cached at $RNULL_TRIXIE_DIR, else
# /var/cache/rnull/trixie; a directory made by hand with the same packages is
# taken as it is. The mirror is the one apt already uses on this machine.
# Exit 77 (CTest: skipped) with the reason when it cannot be made: not root,
# no debootstrap, no mirror, or debootstrap failed.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
dir=${RNULL_TRIXIE_DIR:-/var/cache/rnull/trixie}
suite=trixie
pkgs=nbdkit,libnbd-bin,qemu-utils,fio,nbd-client,python3-libnbd

skip() {
  echo "SKIP: trixie chroot $dir: $*" >&2
  exit 77
}

# Every program the tier runs from the chroot is there.
complete() {
  local f
  for f in usr/bin/nbdkit usr/bin/nbdinfo usr/bin/nbdcopy usr/bin/qemu-img usr/bin/qemu-io \
    usr/bin/fio usr/sbin/nbd-client usr/bin/python3 usr/lib/python3/dist-packages/nbd.py; do
    [ -e "$dir/$f" ] || return 1
  done
}

# The first non-security URI of apt's sources (deb822 .sources, or the
# one-line sources.list format): the Debian mirror this machine already uses.
mirror() {
  {
    awk '/^URIs:/ { for (i = 2; i <= NF; i++) print $i }' /etc/apt/sources.list.d/*.sources 2>/dev/null
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z+]+:\/\//) { print $i; break } }' \
      /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null
  } | grep -v -e security -e '^cdrom:' | head -n 1
}

if complete; then
  echo "$dir"
  exit 0
fi
[ "$(id -u)" = 0 ] || skip "missing, and only root can debootstrap one"
mkdir -p "$(dirname "$dir")" || skip "cannot create $(dirname "$dir")"
exec 9>"$dir.lock"
flock -w 900 9 || skip "another build held $dir.lock for 900 s"
if complete; then # built while we waited for the lock
  echo "$dir"
  exit 0
fi
if ! command -v debootstrap >/dev/null; then
  echo "trixie-chroot: installing debootstrap (packaging/deps.sh)" >&2
  RNULL_DEPS_KERNEL=0 bash "$here/../../packaging/deps.sh" >&2 || true
  command -v debootstrap >/dev/null || skip "no debootstrap (packaging/deps.sh could not install it)"
fi
url=$(mirror)
[ -n "$url" ] || skip "no Debian mirror in /etc/apt/sources.list(.d)"

# Built beside the cache and renamed into place: an interrupted run leaves
# no half chroot that looks complete.
work="$dir.new"
rm -rf "$work"
echo "trixie-chroot: debootstrap $suite from $url into $dir (a few minutes, once)" >&2
if ! debootstrap --variant=minbase --include="$pkgs" "$suite" "$work" "$url" >"$dir.log" 2>&1; then
  tail -n 20 "$dir.log" >&2
  rm -rf "$work"
  skip "debootstrap failed (log: $dir.log)"
fi
rm -rf "$dir"
mv "$work" "$dir"
complete || skip "debootstrap finished but programs are missing (log: $dir.log)"
echo "$dir"
