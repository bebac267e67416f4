#!/usr/bin/env bash
# `cmake --install` into a DESTDIR: every file a user expects lands where the
# system looks for it, and the staged programs and plugin run. Done twice:
# with the configured prefix, and with `--prefix` naming another one (the
# units must then run the server where it really went).
# Usage: install-test.sh BUILD_DIR PREFIX PLUGINDIR UNITDIR(relative) VERSION
set -u # no pipefail: "... | grep -q" may end a pipe early (SIGPIPE)
build=$1 configured_prefix=$2 plugindir=$3 unitdir=$4 version=$5
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
  attach=$(ls "$p"/bin/rnull-attach "$p"/sbin/rnull-attach 2>/dev/null)
  [ "$(echo "$attach" | grep -c .)" = 1 ] && [ -x "$attach" ] ||
    bad "rnull-attach: expected exactly one executable in bin/ or sbin/, got: ${attach:-none}"
  for f in share/man/man1/rnull-server.1 share/man/man1/nbdkit-rnull-plugin.1 \
    share/man/man1/rnull-attach.1 "$unitdir/rnull-server.socket" \
    "$unitdir/rnull-server.service" "$unitdir/rnull-server@.socket" \
    "$unitdir/rnull-server@.service" share/doc/rnull/README.md \
    share/doc/rnull/README.plugin.md share/doc/rnull/README.rnull-attach.md \
    share/doc/rnull/examples/rnull-server.default share/doc/rnull/examples/disk.conf; do
    [ -s "$p/$f" ] || bad "$prefix/$f missing or empty"
  done
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
  for page in rnull-server nbdkit-rnull-plugin rnull-attach; do
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

check "$tmp/root" "$configured_prefix"
check "$tmp/root-opt" /opt/rnull-test --prefix /opt/rnull-test
[ $fail = 0 ] && echo "PASS: install layout"
exit $fail
