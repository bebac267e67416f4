#!/usr/bin/env bash
# The version scripts cannot drift from the headers: for each library, the
# functions its public headers declare RNULL_API, the symbols its version
# script lists and the symbols it exports are the same set, and each symbol
# sits in one version node.
# Usage: symbols-check.sh INCLUDE_DIR LIB MAP SO [LIB MAP SO]...
#   LIB  librnull or librnull-nbd (which headers: tests/abi/abi-lib.sh)
set -u
here=$(dirname "$0")
# shellcheck source=tests/abi/abi-lib.sh
. "$here/abi-lib.sh"
inc=$1
shift
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-abi.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
while [ $# -ge 3 ]; do
  lib=$1 map=$2 so=$3
  shift 3
  # shellcheck disable=SC2046 # one word per header
  declared $(headers_of "$lib" "$inc") >"$tmp/declared"
  map_symbols "$map" >"$tmp/nodes"
  awk '{ print $2 }' "$tmp/nodes" | sort >"$tmp/listed"
  exported "$so" >"$tmp/exported"
  [ -s "$tmp/declared" ] || { echo "FAIL: $lib: no RNULL_API declaration found in $inc"; fail=1; }
  dup=$(uniq -d "$tmp/listed")
  [ -z "$dup" ] || { echo "FAIL: $map lists these in more than one place:" $dup; fail=1; }
  out=$(comm -3 "$tmp/declared" <(uniq "$tmp/listed"))
  if [ -n "$out" ]; then
    echo "FAIL: $lib: the headers (left) and $map (right) differ:"
    echo "$out"
    echo "packaging/abi-update.sh BUILD_DIR brings the map in step (new functions go to its newest"
    echo "version node, or to the one --node names); removing one is an incompatible change."
    fail=1
  fi
  out=$(comm -3 "$tmp/declared" "$tmp/exported")
  if [ -n "$out" ]; then
    echo "FAIL: $lib: declared (left) and exported by $(basename "$so") (right) differ:"
    echo "$out"
    fail=1
  fi
  [ $fail = 0 ] && echo "ok: $lib: $(wc -l <"$tmp/declared") functions declared, listed in" \
    "$(basename "$map") ($(map_nodes "$map" | tr '\n' ' ')) and exported"
done
exit $fail
