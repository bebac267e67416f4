#!/usr/bin/env bash
# Regenerates what the ABI check compares against, in one command, after an
# intended change of the public API (packaging/README.md, "ABI"):
#   1. the version scripts lib/librnull.map and server/librnull-nbd.map are
#      brought in step with the RNULL_API declarations of include/rnull/:
#      a new function goes to the newest version node (or to the one --node
#      names, made if missing); one no longer declared is dropped (an
#      incompatible change: bump the soname). When the soname (the major of
#      project(rnull VERSION ...)) is not the newest node's, the map starts
#      over with one node RNULL_<major>.0 holding every function;
#   2. the shared libraries are rebuilt in BUILD_DIR with those scripts;
#   3. their ABI is dumped (abidw) into abi/librnull.abi and abi/librnull-nbd.abi.
# Review the abidiff report it prints (old baseline against new) and
# `git diff lib/librnull.map server/librnull-nbd.map`, then commit with the change.
# BUILD_DIR must be a configured build without sanitizers (CI's main build:
# Debian 12's gcc, any build type: the libraries always carry -g).
# Usage: packaging/abi-update.sh [--node RNULL_X.Y] [BUILD_DIR (default: build)]
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/abi/abi-lib.sh
. "$src/tests/abi/abi-lib.sh"
node_arg=""
if [ "${1:-}" = --node ]; then
  node_arg=$2
  shift 2
  [[ $node_arg =~ ^RNULL_[0-9]+\.[0-9]+$ ]] || { echo "abi-update: --node RNULL_<major>.<minor>" >&2; exit 2; }
fi
build=$(cd "${1:-build}" && pwd)
[ -f "$build/CMakeCache.txt" ] || { echo "abi-update: $build is not a configured build" >&2; exit 2; }
if grep -Eq '^RNULL_(ASAN|TSAN):BOOL=ON' "$build/CMakeCache.txt"; then
  echo "abi-update: $build is a sanitizer build: use the main build" >&2
  exit 2
fi
major=$(sed -n 's/^project(rnull VERSION \([0-9]*\)\..*/\1/p' "$src/CMakeLists.txt")
[ -n "$major" ] || { echo "abi-update: no project(rnull VERSION ...) in CMakeLists.txt" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-abi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# write_map LIB MAP: the version script from $tmp/assigned ("NODE SYMBOL").
write_map() {
  local lib=$1 map=$2 prev="" first=1 node
  {
    echo "/* $lib.so.$major: the exported symbols, one version node per release that"
    echo " * added some (packaging/README.md, \"ABI\"); everything else is local."
    echo " * Kept in step with the RNULL_API declarations of include/rnull/ by"
    echo " * packaging/abi-update.sh; the abi_symbols test fails when they differ."
    echo " * A released node is never changed: new functions go to a new node. */"
    for node in "${nodes[@]}"; do
      grep -q "^$node " "$tmp/assigned" || [ $first = 1 ] || continue
      echo "$node {"
      echo "  global:"
      awk -v n="$node" '$1 == n { print "    " $2 ";" }' "$tmp/assigned" | sort
      if [ $first = 1 ]; then
        echo "  local:"
        echo "    *;"
      fi
      echo "}${prev:+ $prev};"
      prev=$node first=0
    done
  } >"$map.new"
  mv "$map.new" "$map"
}

# sync_map LIB MAP
sync_map() {
  local lib=$1 map=$2 newest target removed added
  # shellcheck disable=SC2046 # one word per header
  declared $(headers_of "$lib" "$src/include/rnull") >"$tmp/declared"
  : >"$tmp/old"
  nodes=()
  if [ -f "$map" ]; then
    map_symbols "$map" >"$tmp/old"
    mapfile -t nodes < <(map_nodes "$map")
  fi
  newest=""
  [ ${#nodes[@]} = 0 ] || newest=${nodes[${#nodes[@]}-1]}
  if [ "${newest%%.*}" != "RNULL_$major" ]; then
    # a new soname: one node for everything
    nodes=("RNULL_$major.0")
    : >"$tmp/old"
  fi
  target=${node_arg:-${nodes[${#nodes[@]}-1]}}
  [ "${target%%.*}" = "RNULL_$major" ] || { echo "abi-update: $target is not a node of soname $major" >&2; exit 2; }
  [[ " ${nodes[*]} " == *" $target "* ]] || nodes+=("$target")
  # keep every declared symbol where it was; the new ones go to the target
  awk 'NR == FNR { d[$1] = 1; next } ($2 in d)' "$tmp/declared" "$tmp/old" >"$tmp/assigned"
  removed=$(awk '{ print $2 }' "$tmp/old" | sort | comm -23 - "$tmp/declared")
  added=$(awk '{ print $2 }' "$tmp/old" | sort | comm -13 - "$tmp/declared")
  for s in $added; do echo "$target $s"; done >>"$tmp/assigned"
  [ -z "$removed" ] || echo "abi-update: $lib: REMOVED (incompatible: bump the soname):" $removed
  [ -z "$added" ] || echo "abi-update: $lib: added to $target:" $added
  write_map "$lib" "$map"
}

sync_map librnull "$src/lib/librnull.map"
sync_map librnull-nbd "$src/server/librnull-nbd.map"

cmake --build "$build" -j2 --target rnull_shared rnull_nbd_shared
libs=$build/tests/abi/abi-libs.txt # "LIB SO" lines, written at configure time
[ -s "$libs" ] || { echo "abi-update: $libs missing (is tests/abi configured?)" >&2; exit 2; }
mkdir -p "$src/abi"
while read -r lib so; do
  has_debug_info "$so" || { echo "abi-update: $so has no DWARF" >&2; exit 1; }
  abi_dump "$so" "$src" "$tmp/$lib.abi"
  # what changed, as abidiff sees it (the XML's order may move between
  # builds: review this report, not the text diff of the dump)
  if [ -s "$src/abi/$lib.abi" ]; then
    if report=$(abi_compare "$src/abi/$lib.abi" "$tmp/$lib.abi" "$src/include/rnull"); then
      echo "abi-update: $lib: no ABI change: abi/$lib.abi kept as it is"
      continue
    else
      echo "abi-update: $lib: the ABI changes so (abidiff old new):"
      echo "$report" | sed 's/^/    /'
    fi
  fi
  mv "$tmp/$lib.abi" "$src/abi/$lib.abi"
  echo "abi-update: abi/$lib.abi from $so"
done <"$libs"
bash "$src/tests/abi/symbols-check.sh" "$src/include/rnull" \
  librnull "$src/lib/librnull.map" "$(awk '$1 == "librnull" { print $2 }' "$libs")" \
  librnull-nbd "$src/server/librnull-nbd.map" "$(awk '$1 == "librnull-nbd" { print $2 }' "$libs")"
(cd "$src" && git status --short -- abi lib/librnull.map server/librnull-nbd.map)
