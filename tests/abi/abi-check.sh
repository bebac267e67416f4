#!/usr/bin/env bash
# The ABI check: each shared library's ABI (abidw, with DWARF) against its
# committed baseline (abi/*.abi), with abidiff. Any difference fails:
# removed or changed functions, changed public struct layouts or enum values,
# and additions too, so that every change of the ABI is a reviewed change of
# its baseline (packaging/README.md, "ABI").
# Usage: abi-check.sh SOURCE_DIR HEADERS_DIR SO BASELINE [SO BASELINE]...
#   SOURCE_DIR   cut off the dumps' source paths (tests/abi/abi-lib.sh)
#   HEADERS_DIR  the public headers: only types defined there count
# The current dumps are left in the working directory (<soname>.abi).
set -u
here=$(dirname "$0")
# shellcheck source=tests/abi/abi-lib.sh
. "$here/abi-lib.sh"
src=$1 headers=$2
shift 2
if ! command -v abidw >/dev/null || ! command -v abidiff >/dev/null; then
  echo "FAIL: abidw/abidiff not found (Debian: apt-get install abigail-tools; packaging/deps.sh)"
  exit 1
fi
fail=0
while [ $# -ge 2 ]; do
  so=$1 baseline=$2
  shift 2
  name=$(basename "$so")
  if [ ! -s "$baseline" ]; then
    echo "FAIL: $name: no baseline $baseline"
    fail=1
    continue
  fi
  if [ ! -f "$so" ]; then
    echo "FAIL: $so: no such library"
    fail=1
    continue
  fi
  if ! has_debug_info "$so"; then
    echo "FAIL: $name has no DWARF (.debug_info): built without -g, abidiff would see symbol names only"
    fail=1
    continue
  fi
  current=$PWD/$name.abi
  abi_dump "$so" "$src" "$current" || { echo "FAIL: abidw $so"; fail=1; continue; }
  report=$(abi_compare "$baseline" "$current" "$headers")
  status=$?
  if [ $status = 0 ]; then
    echo "ok: $name matches $baseline"
    continue
  fi
  fail=1
  echo "FAIL: the ABI of $name differs from $baseline (abidiff exit status $status):"
  echo "$report"
  if [ $((status & 3)) != 0 ]; then
    echo "(abidiff itself failed: status bits 1/2 are an error or a usage error)"
  elif [ $((status & 8)) != 0 ]; then
    echo "abidiff judges it INCOMPATIBLE (a removed function, a changed type): if it is intended,"
    echo "bump the soname (the major of project(rnull VERSION ...) in CMakeLists.txt), then"
  else
    echo "abidiff judges it compatible (an addition, or a layout change it deems harmless, e.g. a"
    echo "field in padding: a struct callers allocate or embed changed all the same: see"
    echo "packaging/README.md, \"ABI\"). If it is intended: new functions go to a new version node"
    echo "(packaging/abi-update.sh --node RNULL_<major>.<minor+1> BUILD_DIR), then"
  fi
  echo "regenerate the baselines from a non-sanitizer build: packaging/abi-update.sh BUILD_DIR"
  echo "(current dump: $current) and commit abi/*.abi and the .map files with the change."
done
exit $fail
