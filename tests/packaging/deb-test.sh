#!/usr/bin/env bash
# The Debian packages (packaging/cpack.cmake): built with cpack from this
# build, their contents checked, installed on this machine with
# `apt-get install ./*.deb`, used (nbdkit rnull by name, the packaged
# rnull-server, the example driver built against the installed -dev
# package), then purged: the machine is left as it was (checked).
# Root only; skipped when any of the packages is already installed (not
# ours to remove) or in sanitizer builds.
# Usage: deb-test.sh BUILD_DIR LOOP_TEST
set -uo pipefail
BUILD=$1 LOOP_TEST=$2
# shellcheck source=tests/packaging/proc.sh
. "$(dirname "$0")/proc.sh"
PKGS=(rnull-server nbdkit-plugin-rnull librnull1 librnull-dev)
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (apt-get install)"; exit 77; }
[ -z "${RNULL_SANITIZED:-}" ] || { echo "SKIP: sanitized build"; exit 77; }
for t in cpack apt-get dpkg-deb nbdkit nbdinfo pkg-config cc; do
  command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
for p in "${PKGS[@]}"; do
  if dpkg -s "$p" >/dev/null 2>&1; then echo "SKIP: $p is already installed"; exit 77; fi
done
T=$(mktemp -d /tmp/rnull-deb.XXXXXX)
PIDS=()
APT=(apt-get -y -q -o DPkg::Lock::Timeout=120)
installed=0
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait_bounded "$p" >/dev/null 2>&1; done
  [ "$installed" = 0 ] || "${APT[@]}" purge "${PKGS[@]}" >"$T/purge.log" 2>&1 || cat "$T/purge.log"
  rm -rf "$T"
}
trap cleanup EXIT

echo "== cpack -G DEB"
(cd "$BUILD" && cpack -G DEB -B "$T/debs") >"$T/cpack.log" 2>&1 || { cat "$T/cpack.log"; exit 1; }
rm -rf "$T/debs/_CPack_Packages"
ls "$T/debs"
plugindir=$(pkg-config --variable=plugindir nbdkit)
contents() { dpkg-deb -c "$T"/debs/"$1"_*.deb | awk '{print $6}' | sed 's|^\./|/|' | grep -v '/$'; }
has() { # PACKAGE PATTERN...
  local p=$1 pat
  shift
  for pat in "$@"; do contents "$p" | grep -qx -- "$pat" || bad "$p lacks $pat"; done
}
for p in "${PKGS[@]}"; do [ -f "$(ls "$T"/debs/"$p"_*.deb 2>/dev/null)" ] || bad "no $p package"; done
has rnull-server /usr/bin/rnull-server /usr/sbin/rnull-attach /usr/share/man/man1/rnull-server.1 \
  /usr/bin/rnull-ctl /usr/share/man/man1/rnull-ctl.1 \
  /usr/lib/systemd/system/rnull-server.service
has nbdkit-plugin-rnull "$plugindir/nbdkit-rnull-plugin.so" /usr/share/man/man1/nbdkit-rnull-plugin.1
has librnull1 '/usr/lib.*/librnull\.so\.1' '/usr/lib.*/librnull-nbd\.so\.1'
has librnull-dev /usr/include/rnull/driver.h /usr/include/rnull/nbd_server.h \
  '/usr/lib.*/pkgconfig/rnull\.pc' '/usr/lib.*/pkgconfig/rnull-nbd\.pc' '/usr/lib.*/librnull\.so' \
  /usr/share/doc/librnull-dev/examples/rnull-loop.c
[ -z "$(contents librnull1 | grep -v '\.so\.1')" ] || bad "librnull1 holds more than libraries"
dpkg-deb -f "$T"/debs/librnull-dev_*.deb Depends | grep -q 'librnull1 (=' ||
  bad "librnull-dev does not depend on its librnull1"
# a soname bump makes a new package beside the old one (Debian policy 8.1):
# librnull1 must not conflict with librnull0, whose programs still need it
[ -z "$(dpkg-deb -f "$T"/debs/librnull1_*.deb Conflicts Breaks)" ] ||
  bad "librnull1 conflicts with or breaks something: $(dpkg-deb -f "$T"/debs/librnull1_*.deb Conflicts Breaks)"
dpkg-deb -f "$T"/debs/nbdkit-plugin-rnull_*.deb Depends | grep -qw nbdkit ||
  bad "nbdkit-plugin-rnull does not depend on nbdkit"

echo "== apt-get install ./*.deb"
installed=1
(cd "$T/debs" && "${APT[@]}" install --no-install-recommends ./*.deb) >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; bad "apt-get install"; exit 1; }
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || bad "$p not installed"; done

echo "== nbdkit rnull (by name)"
nbdkit --dump-plugin rnull >"$T/dump" 2>&1 || bad "nbdkit --dump-plugin rnull: $(cat "$T/dump")"
grep -q "^path=$plugindir/nbdkit-rnull-plugin.so" "$T/dump" || bad "the plugin is not nbdkit's: $(cat "$T/dump")"
nbdkit -f -U "$T/p.sock" rnull size=3M >"$T/nbdkit.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$T/p.sock" ] && break; sleep 0.1; done
[ "$(nbdinfo --size "nbd+unix:///?socket=$T/p.sock" 2>&1)" = 3145728 ] ||
  bad "nbdkit rnull size=3M: $(nbdinfo --size "nbd+unix:///?socket=$T/p.sock" 2>&1; cat "$T/nbdkit.log")"

echo "== rnull-server from the package"
[ "$(command -v rnull-server)" = /usr/bin/rnull-server ] || bad "rnull-server is not /usr/bin's"
/usr/bin/rnull-server -f --unix "$T/s.sock" size=5M >"$T/server.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$T/s.sock" ] && break; sleep 0.1; done
[ "$(nbdinfo --size "nbd+unix:///?socket=$T/s.sock" 2>&1)" = 5242880 ] ||
  bad "rnull-server size=5M: $(cat "$T/server.log")"
man -w rnull-server >/dev/null 2>&1 || bad "man rnull-server: no page"
man -w nbdkit-rnull-plugin >/dev/null 2>&1 || bad "man nbdkit-rnull-plugin: no page"

echo "== the example driver against the installed librnull-dev"
unset PKG_CONFIG_PATH
[ "$(pkg-config --modversion rnull-nbd)" = "$(dpkg-query -W -f '${Version}' librnull-dev)" ] ||
  bad "pkg-config rnull-nbd does not see the installed package"
cmake -S /usr/share/doc/librnull-dev/examples -B "$T/ex" -DCMAKE_C_FLAGS=-Werror >"$T/ex.log" 2>&1 &&
  cmake --build "$T/ex" >>"$T/ex.log" 2>&1 || { cat "$T/ex.log"; bad "the example does not build"; }
if [ -x "$T/ex/rnull-loop" ]; then
  ldd "$T/ex/rnull-loop" | grep -Eq 'librnull-nbd.so.1 => (/usr)?/lib/librnull-nbd' || bad "rnull-loop does not use /usr/lib"
  bash "$LOOP_TEST" "$T/ex/rnull-loop" || bad "the example built from the package fails its tests"
fi

echo "== apt-get purge"
for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; wait_bounded "$p" >/dev/null 2>&1; done
PIDS=()
files=$(for p in "${PKGS[@]}"; do contents "$p"; done)
"${APT[@]}" purge "${PKGS[@]}" >"$T/purge.log" 2>&1 || { cat "$T/purge.log"; bad "apt-get purge"; }
installed=0
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 && bad "$p still installed after purge"
done
left=$(for f in $files; do [ -e "$f" ] && echo "$f"; done)
[ -z "$left" ] || bad "files left after purge: $left"
nbdkit --dump-plugin rnull >/dev/null 2>&1 && bad "nbdkit still finds rnull after purge"
[ "$fail" = 0 ] && echo "PASS: Debian packages build, install, work and purge cleanly"
exit "$fail"
