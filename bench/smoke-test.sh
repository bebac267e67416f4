#!/usr/bin/env bash
# CTest smoke test (label bench): bench/run --tiny produces the whole table.
# Checks rows and that every server that exists got a figure in every row;
# never a timing: the figures themselves are not judged.
# usage: smoke-test.sh RNULL_SERVER|"" RNULL_PLUGIN|""
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-bench-smoke.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# A front end that CMake knows must have been built; an absent one is skipped.
for f in "${1:-}" "${2:-}"; do
  [ -z "$f" ] || [ -e "$f" ] || { echo "FAIL: $f is a build target but is not built"; exit 1; }
done
export RNULL_SERVER=${1:-/nonexistent/rnull-server}
export RNULL_PLUGIN=${2:-/nonexistent/rnull.so}
fail() { echo "FAIL: $*"; echo "--- table"; cat "$tmp/table.md"; echo "--- progress"; tail -n 30 "$tmp/progress.log"; exit 1; }
"$BENCH_DIR/run" --tiny --out "$tmp/out" >"$tmp/table.md" 2>"$tmp/progress.log"
rc=$?
[ $rc -eq 0 ] || fail "bench/run exited $rc"

rows=("4k randread QD1" "4k randread QD1 p50" "4k randread QD1 p99" "4k randread QD32"
      "4k randread QD32, 2 conns" "4k randwrite QD32" "1M seq read QD8" "1M seq write QD8"
      "nbdcopy disk → null:" "nbdcopy --no-extents → null:")
# Table columns: | label | unit | rnull-server | plugin | nbdkit null | qemu-nbd | ratios...
cols=()
[ -x "$RNULL_SERVER" ] && cols+=(4)
[ -f "$RNULL_PLUGIN" ] && cols+=(5)
cols+=(6 7)
for r in "${rows[@]}"; do
  line=$(grep -F "| $r | " "$tmp/table.md" | head -n 1)
  [ -n "$line" ] || fail "row '$r' missing"
  for c in "${cols[@]}"; do
    cell=$(awk -F'|' -v c="$c" '{ gsub(/ /, "", $c); print $c }' <<<"$line")
    [[ $cell =~ ^[0-9] ]] || fail "row '$r' column $c has no figure: '$cell'"
  done
  # Ratios are figures exactly when both sides are measured.
  if [ -x "$RNULL_SERVER" ]; then
    cell=$(awk -F'|' '{ gsub(/ /, "", $8); print $8 }' <<<"$line")
    [[ $cell =~ ^[0-9]+\.[0-9]+$ ]] || fail "row '$r' has no server ratio: '$cell'"
  fi
done
grep -q "^| rnull-server |" "$tmp/table.md" || [ ! -x "$RNULL_SERVER" ] ||
  fail "no RSS row for rnull-server"
grep -q "^| nbdkit null |" "$tmp/table.md" || fail "no RSS row for nbdkit null"
grep -q "^Targets" "$tmp/table.md" || fail "no targets section"
echo "PASS: table has all ${#rows[@]} rows; measured columns: ${cols[*]}"
