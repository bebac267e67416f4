#!/usr/bin/env bash
# CTest smoke test (label bench): bench/run --tiny produces every table.
# Checks that each server that exists got a figure and a ratio to the ceiling
# in every workload table, the summary, targets and RSS sections; never a
# timing: the figures themselves are not judged. Debian 12's client only, to
# stay fast (the Debian 13 chroot, when present, is bench/run's by hand).
# usage: smoke-test.sh RNULL_SERVER|"" RNULL_PLUGIN|"" RNULL_CEILING|""
set -uo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-bench-smoke.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# A front end that CMake knows must have been built; an absent one is skipped.
for f in "${1:-}" "${2:-}" "${3:-}"; do
  [ -z "$f" ] || [ -e "$f" ] || { echo "FAIL: $f is a build target but is not built"; exit 1; }
done
export RNULL_SERVER=${1:-/nonexistent/rnull-server}
export RNULL_PLUGIN=${2:-/nonexistent/rnull.so}
export RNULL_CEILING=${3:-/nonexistent/rnull-bench-ceiling}
fail() { echo "FAIL: $*"; echo "--- table"; cat "$tmp/table.md"; echo "--- progress"; tail -n 30 "$tmp/progress.log"; exit 1; }
"$BENCH_DIR/run" --tiny --clients d12 --servers ceiling,rnull-server,plugin,nbdkit-null \
  --out "$tmp/out" >"$tmp/table.md" 2>"$tmp/progress.log"
rc=$?
[ $rc -eq 0 ] || fail "bench/run exited $rc"

titles=("4k randread QD1" "4k randread QD32" "4k randread QD32, 2 conns" "4k randwrite QD32"
        "1M seq read QD8" "1M seq write QD8")
labels=()
[ -x "$RNULL_CEILING" ] && labels+=("ceiling (")
[ -x "$RNULL_SERVER" ] && labels+=("rnull-server (--poll adaptive)")
[ -f "$RNULL_PLUGIN" ] && labels+=("nbdkit 1.32 + rnull.so")
labels+=("nbdkit 1.32 null")
# The workload tables: | server | figure | ÷ ceiling | p50 | p99 | server CPU | wake-ups | client CPU |
for t in "${titles[@]}"; do
  section=$(awk -v h="#### $t, fio 3.33" 'index($0, h) == 1 { on = 1; next } /^####/ { on = 0 } on' "$tmp/table.md")
  [ -n "$section" ] || fail "no table for '$t'"
  for l in "${labels[@]}"; do
    line=$(grep -F "| $l" <<<"$section" | head -n 1)
    [ -n "$line" ] || fail "'$t': no row for '$l'"
    for c in 3 6 7 8; do
      cell=$(awk -F'|' -v c="$c" '{ gsub(/^ +| +$/, "", $c); print $c }' <<<"$line")
      [[ $cell =~ ^[0-9] ]] || fail "'$t', '$l', column $c has no figure: '$cell'"
    done
    if [ -x "$RNULL_CEILING" ]; then
      cell=$(awk -F'|' '{ gsub(/^ +| +$/, "", $4); print $4 }' <<<"$line")
      [[ $cell =~ ^[0-9]+\.[0-9]+ ]] || fail "'$t', '$l' has no ratio to the ceiling: '$cell'"
    fi
  done
done
grep -q "^#### Each server ÷ the ceiling" "$tmp/table.md" || fail "no summary table"
grep -q "^Targets (issue 14)" "$tmp/table.md" || fail "no targets section"
grep -q "^#### nbdcopy" "$tmp/table.md" || fail "no nbdcopy table"
grep -q "^| nbdkit 1.32 null | [0-9]" "$tmp/table.md" || fail "no RSS row for nbdkit null"
[ ! -x "$RNULL_SERVER" ] || grep -q "^| rnull-server (--poll adaptive) | [0-9.]* MiB" "$tmp/table.md" ||
  fail "no RSS row for rnull-server"
echo "PASS: ${#titles[@]} workload tables, rows: ${labels[*]}"
