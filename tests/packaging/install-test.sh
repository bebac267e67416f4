#!/usr/bin/env bash
# `cmake --install` into a DESTDIR: every file a user expects lands where the
# system looks for it, and the staged programs and plugin run. Done twice:
# with the configured prefix, and with `--prefix` naming another one (the
# units must then run the server where it really went).
# Usage: install-test.sh BUILD_DIR PREFIX PLUGINDIR UNITDIR(relative) VERSION
set -u # no pipefail: "... | grep -q" may end a pipe early (SIGPIPE)
build=$1 configured_prefix=$2 plugindir=$3 unitdir=$4 version=$5
major=${version%%.*} # the soname: librnull.so.$major
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# check ROOT PREFIX [cmake --install options]: install into DESTDIR=ROOT, check.
check() {
  local root=$1 prefix=$2
  shift 2
  echo "== cmake --install $* (DESTDIR=$root)"
  if ! DESTDIR=$root cmake --install "$build" "$@" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    bad "cmake --install $*"
    return
  fi
  local p=$root$prefix attach plugin out dump f u exe page found files nbdkit_dir pc_dir
  # Files, and the kind each must be.
  [ -x "$p/bin/rnull-server" ] || bad "$prefix/bin/rnull-server missing or not executable"
  [ -x "$p/bin/rnull-ctl" ] || bad "$prefix/bin/rnull-ctl missing or not executable"
  attach=$(ls "$p"/bin/rnull-attach "$p"/sbin/rnull-attach 2>/dev/null)
  [ "$(echo "$attach" | grep -c .)" = 1 ] && [ -x "$attach" ] ||
    bad "rnull-attach: expected exactly one executable in bin/ or sbin/, got: ${attach:-none}"
  for f in share/man/man1/rnull-server.1 share/man/man1/nbdkit-rnull-plugin.1 \
    share/man/man1/rnull-attach.1 share/man/man1/rnull-ctl.1 "$unitdir/rnull-server.socket" \
    "$unitdir/rnull-server.service" "$unitdir/rnull-server@.socket" \
    "$unitdir/rnull-server@.service" share/doc/rnull/README.md \
    share/doc/rnull/README.plugin.md share/doc/rnull/README.rnull-attach.md \
    share/doc/rnull/examples/rnull-server.default share/doc/rnull/examples/disk.conf; do
    [ -s "$p/$f" ] || bad "$prefix/$f missing or empty"
  done
  [ -s "$p/include/rnull/rnull.h" ] && [ -s "$p/include/rnull/driver.h" ] ||
    bad "$prefix/include/rnull/: public headers missing"
  [ -n "$(find "$p" -name librnull.so.$major -path "*/lib*")" ] || bad "librnull.so.$major missing"
  [ -n "$(find "$p" -name rnull.pc -path "*/pkgconfig/*")" ] || bad "rnull.pc missing"
  plugin=$root$plugindir/nbdkit-rnull-plugin.so
  [ -f "$plugin" ] || bad "$plugindir/nbdkit-rnull-plugin.so missing"

  # No template placeholder survives into an installed text file.
  if grep -l '@[A-Z_]*@' "$p"/share/man/man1/* "$p/$unitdir"/* 2>/dev/null; then
    bad "unreplaced @PLACEHOLDER@ in the files above"
  fi

  # The staged programs run and say their version.
  out=$("$p/bin/rnull-server" --version 2>&1)
  [ "$out" = "rnull-server $version" ] || bad "rnull-server --version: '$out'"
  if [ -n "$attach" ]; then
    out=$("$attach" --version 2>&1)
    [ "$out" = "rnull-attach $version" ] || bad "rnull-attach --version: '$out'"
  fi

  # The plugin loads in nbdkit under its installed name, and the directory is
  # the one nbdkit searches for `nbdkit rnull` (unless configured elsewhere).
  if [ -f "$plugin" ]; then
    dump=$(nbdkit --dump-plugin "$plugin" 2>&1)
    echo "$dump" | grep -qx 'name=rnull' || bad "nbdkit --dump-plugin: no name=rnull: $dump"
    echo "$dump" | grep -qx 'rnull_size=4294967296' || bad "nbdkit --dump-plugin: no default size"
  fi
  nbdkit_dir=$(nbdkit --dump-config | sed -n 's/^plugindir=//p')
  pc_dir=$(pkg-config --variable=plugindir nbdkit)
  [ "$pc_dir" = "$nbdkit_dir" ] || bad "pkg-config plugindir $pc_dir is not nbdkit's $nbdkit_dir"
  if [ "$plugindir" != "$nbdkit_dir" ]; then
    echo "note: plugin installed to $plugindir, nbdkit searches $nbdkit_dir (RNULL_NBDKIT_PLUGINDIR)"
  fi

  # The units start the installed server.
  for u in rnull-server.service rnull-server@.service; do
    exe=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$p/$unitdir/$u")
    [ "$exe" = "$prefix/bin/rnull-server" ] || bad "$u: ExecStart runs '$exe', not $prefix/bin/rnull-server"
    [ -x "$root$exe" ] || bad "$u: $exe is not installed"
  done

  # The installed pages (made at install time) render without a warning.
  for f in "$p"/share/man/man1/*.1; do
    out=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
    [ -z "$out" ] || bad "installed $(basename "$f") renders with warnings: $out"
  done

  # man finds the installed pages by name.
  for page in rnull-server nbdkit-rnull-plugin rnull-attach rnull-ctl; do
    found=$(MANPATH=$p/share/man man -w "$page" 2>/dev/null)
    [ "$found" = "$p/share/man/man1/$page.1" ] || bad "man -w $page: '$found'"
  done

  # The FILES sections name installed paths (/etc and /run are the admin's).
  for page in rnull-server nbdkit-rnull-plugin; do
    files=$(MANWIDTH=250 man -l -Tutf8 "$p/share/man/man1/$page.1" 2>/dev/null | col -b |
      awk '/^[A-Z][A-Z ]*$/ { on = ($0 == "FILES") ; next } on' | sed -nE 's|^ {7}(/[^ ]+)$|\1|p')
    [ -n "$files" ] || bad "$page.1: no paths in FILES"
    for f in $files; do
      case $f in /etc/* | /run/*) continue ;; esac
      [ -e "$root$f" ] || bad "$page.1 FILES names $f, which is not installed"
    done
  done

  echo "installed files:"
  (cd "$root" && find . -type f | sort)
}

# librnull alone, really installed into a prefix (no DESTDIR): pkg-config
# finds it, only the public API is exported, and a program built against
# the installed headers and library runs.
check_librnull() {
  local pfx=$tmp/pfx so pc flags out
  echo "== cmake --install --prefix $pfx --component librnull, then librnull_dev"
  cmake --install "$build" --prefix "$pfx" --component librnull >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; bad "cmake --install --component librnull"; return; }
  [ -z "$(find "$pfx" -name '*.h' -o -name '*.pc' -o -name librnull.so)" ] ||
    bad "component librnull installs development files: $(find "$pfx" -name '*.h' -o -name '*.pc')"
  cmake --install "$build" --prefix "$pfx" --component librnull_dev >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; bad "cmake --install --component librnull_dev"; return; }
  so=$(find "$pfx" -name librnull.so.$major)
  pc=$(dirname "$(find "$pfx" -name rnull.pc)")
  [ -n "$so" ] && [ -n "$pc" ] || { bad "librnull.so.$major or rnull.pc not installed"; return; }
  readelf -d "$so" | grep -q "SONAME.*\[librnull\.so\.$major\]" || bad "$so: SONAME is not librnull.so.$major"
  out=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | grep -v '^rnull_')
  [ -z "$out" ] || bad "librnull exports non-rnull_ symbols: $out"
  # every export is versioned by lib/librnull.map (node RNULL_<soname>.N)
  out=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | grep -v "@@RNULL_$major\.[0-9]*\$")
  [ -z "$out" ] || bad "librnull exports symbols without an RNULL_$major.x version: $out"
  # every function the installed headers declare is exported, and only those
  # (nbd_server.h's by librnull-nbd, below)
  ls "$pfx"/include/rnull/*.h | grep -v '/nbd_server\.h$' |
    xargs sed -n 's/^RNULL_API .*\b\(rnull_[a-z0-9_]*\)(.*/\1/p' | sort -u >"$tmp/declared"
  nm -D --defined-only "$so" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported"
  [ "$(wc -l <"$tmp/declared")" -gt 50 ] || bad "fewer than 50 RNULL_API declarations found"
  out=$(comm -3 "$tmp/declared" "$tmp/exported")
  [ -z "$out" ] || bad "declared (left) and exported (right) differ: $out"
  if grep -hE '^[a-z][a-z0-9_ *]*\brnull_[a-z0-9_]*\(' "$pfx"/include/rnull/*.h | grep -v '^static'; then
    bad "the declarations above lack RNULL_API"
  fi
  for f in rnull_badblocks_check rnull_store_null_create rnull_throttle_reserve \
    rnull_heap_push rnull_tag_put rnull_fault_should_fail; do
    nm -D --defined-only "$so" | grep -qw "$f" && bad "librnull exports the private $f"
  done
  # librnull-nbd.so.$major: the server library, exporting nbd_server.h and no more
  local nbd
  nbd=$(find "$pfx" -name librnull-nbd.so.$major)
  [ -n "$nbd" ] && [ -f "$pc/rnull-nbd.pc" ] || bad "librnull-nbd.so.$major or rnull-nbd.pc not installed"
  readelf -d "$nbd" | grep -q "SONAME.*\[librnull-nbd\.so\.$major\]" || bad "$nbd: SONAME"
  readelf -d "$nbd" | grep -q "NEEDED.*\[librnull\.so\.$major\]" || bad "$nbd does not need librnull.so.$major"
  sed -n 's/^RNULL_API .*\b\(rnull_[a-z0-9_]*\)(.*/\1/p' "$pfx"/include/rnull/nbd_server.h |
    sort -u >"$tmp/declared-nbd"
  nm -D --defined-only "$nbd" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u >"$tmp/exported-nbd"
  out=$(nm -D --defined-only "$nbd" | awk '$2 != "A" { print $3 }' | grep -v "@@RNULL_$major\.[0-9]*\$")
  [ -z "$out" ] || bad "librnull-nbd exports symbols without an RNULL_$major.x version: $out"
  out=$(comm -3 "$tmp/declared-nbd" "$tmp/exported-nbd")
  [ -z "$out" ] || bad "librnull-nbd: declared (left) and exported (right) differ: $out"
  PKG_CONFIG_PATH=$pc pkg-config --libs rnull-nbd | grep -q -- '-lrnull-nbd' ||
    bad "pkg-config --libs rnull-nbd lacks -lrnull-nbd"
  flags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs rnull) || bad "pkg-config rnull failed"
  [ "$(PKG_CONFIG_PATH=$pc pkg-config --modversion rnull)" = "$version" ] ||
    bad "pkg-config --modversion rnull is not $version"
  echo "pkg-config --cflags --libs rnull: $flags"
  # shellcheck disable=SC2086 # flags are words
  if cc -std=c11 -Wall -Werror -o "$tmp/librnull-user" "$(dirname "$0")/librnull-user.c" \
    $flags -Wl,-rpath,"$(dirname "$so")"; then
    "$tmp/librnull-user" || bad "a program linked against the installed librnull failed"
  else
    bad "a program does not build against the installed librnull"
  fi
}

check "$tmp/root" "$configured_prefix"
check "$tmp/root-opt" /opt/rnull-test --prefix /opt/rnull-test
check_librnull
[ $fail = 0 ] && echo "PASS: install layout"
exit $fail
