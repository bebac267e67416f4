#!/usr/bin/env bash
# The ABI check can fail: abi-check.sh, the script abi_check runs, against a
# baseline of the fixture library (tests/abi/fixture) and each variant built
# from it. A rebuild of the same API and a change of a private (opaque)
# struct pass; a field added to a public struct, a renumbered enum value, a
# removed function and an added function each fail, with abidiff naming it.
# Usage: abi-selftest.sh SOURCE_DIR FIXTURE_HEADERS_DIR BASE_SO VARIANT=SO...
set -u
here=$(dirname "$0")
# shellcheck source=tests/abi/abi-lib.sh
. "$here/abi-lib.sh"
src=$1 headers=$2 base=$3
shift 3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-abi-selftest.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
abi_dump "$base" "$src" "$tmp/baseline.abi" || { echo "FAIL: abidw $base"; exit 1; }

# expect VARIANT SO STATUS PATTERN: the check exits STATUS (0 pass, 1 fail)
# and, when failing, its report matches PATTERN (grep -E).
expect() {
  local variant=$1 so=$2 want=$3 pattern=$4 out got
  out=$(cd "$tmp" && bash "$here/abi-check.sh" "$src" "$headers" "$so" "$tmp/baseline.abi" 2>&1)
  got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL: $variant: the check exited $got, expected $want:"
    echo "$out" | sed 's/^/    /'
    fail=1
  elif [ "$want" != 0 ] && ! echo "$out" | grep -Eq "$pattern"; then
    echo "FAIL: $variant: the check failed without naming the change (/$pattern/):"
    echo "$out" | sed 's/^/    /'
    fail=1
  else
    echo "ok: $variant: exit $got${pattern:+ (report matches /$pattern/)}"
  fi
}

for arg in "$@"; do
  variant=${arg%%=*} so=${arg#*=}
  case $variant in
  same) expect "$variant" "$so" 0 "" ;;
  private_field) expect "$variant" "$so" 0 "" ;;
  field_added) expect "$variant" "$so" 1 "abifix_geometry.*(size changed|zone_size)|zone_size" ;;
  enum_changed) expect "$variant" "$so" 1 "ABIFIX_MODE_TIMER.*value changed|enum.*abifix_mode" ;;
  function_removed) expect "$variant" "$so" 1 "Removed.*abifix_disk_destroy|abifix_disk_destroy.*removed|1 Removed function" ;;
  function_added) expect "$variant" "$so" 1 "Added.*abifix_disk_block_size|1 Added function" ;;
  *) echo "FAIL: unknown variant $variant"; fail=1 ;;
  esac
done
# and a library without DWARF is refused rather than compared by names only
objcopy --strip-debug "$base" "$tmp/stripped.so"
expect stripped "$tmp/stripped.so" 1 "no DWARF"
[ $fail = 0 ] && echo "PASS: the ABI check reports what it must"
exit $fail
