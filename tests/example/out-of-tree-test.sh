#!/usr/bin/env bash
# The example driver built out of tree, as a user would: librnull and
# librnull-nbd installed into a temporary prefix (cmake --install
# --component librnull and librnull_dev), examples/ configured on its own with pkg-config
# finding rnull-nbd.pc there, and the binary it makes (linked to the
# installed libraries, not the build tree's) passing the same tests.
# Usage: out-of-tree-test.sh BUILD_DIR EXAMPLES_DIR LOOP_TEST
set -euo pipefail
BUILD=$1 EXAMPLES=$2 LOOP_TEST=$3
[ -z "${RNULL_SANITIZED:-}" ] || { echo "SKIP: sanitized build"; exit 77; }
T=$(mktemp -d /tmp/rnull-oot.XXXXXX)
trap 'rm -rf "$T"' EXIT
for c in librnull librnull_dev; do
  cmake --install "$BUILD" --prefix "$T/prefix" --component $c >"$T/install.log" 2>&1 ||
    { cat "$T/install.log"; exit 1; }
done
pcdir=$(dirname "$(find "$T/prefix" -name rnull-nbd.pc)")
export PKG_CONFIG_PATH=$pcdir
echo "pkg-config --cflags --libs rnull-nbd: $(pkg-config --cflags --libs rnull-nbd)"
cmake -S "$EXAMPLES" -B "$T/build" -DCMAKE_C_FLAGS=-Werror >"$T/configure.log" 2>&1 ||
  { cat "$T/configure.log"; exit 1; }
cmake --build "$T/build" >"$T/build.log" 2>&1 || { cat "$T/build.log"; exit 1; }
bin=$T/build/rnull-loop
for lib in librnull.so.1 librnull-nbd.so.1; do
  where=$(ldd "$bin" | awk -v l="$lib" '$1==l {print $3}')
  case $where in
    "$T/prefix"/*) echo "ok: $lib from the installed prefix ($where)" ;;
    *) echo "FAIL: $lib resolves to '$where', not the installed prefix"; exit 1 ;;
  esac
done
bash "$LOOP_TEST" "$bin"
