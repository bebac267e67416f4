#!/usr/bin/env bash
# Durability through NBD: data written and flushed survives power off and on
# (null_blk); remove frees it; a resize of a disk holding data refuses the
# power on. Both front ends: rnull-server --control, and nbdkit rnull.so
# control=.
# Usage: server-crash.sh server RNULL_SERVER RNULL_CTL
#        server-crash.sh plugin RNULL_PLUGIN_SO RNULL_CTL
set -uo pipefail
FE=$1
SERVER=$2
CTLBIN=$3
PY=/usr/bin/python3 # has the nbd module (libnbd's bindings)
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool timeout
$PY -c 'import nbd' 2>/dev/null || skip "$PY has no nbd module"
make_tmpdir crash
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
CTL=$T/control
SOCK=$T/nbd.sock
ctl() { timeout 60 "$CTLBIN" --control "$CTL" "$@"; }
# expect_err DESCRIPTION PATTERN COMMAND...: fails with a message matching
expect_err() {
  local d=$1 pat=$2 out rc
  shift 2
  out=$(ctl "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && grep -qE -- "$pat" <<<"$out"; then ok "$d: $out"; else not_ok "$d: rc=$rc '$out' !~ /$pat/"; fi
}
# nbd DISK PYTHON: run PYTHON with h connected to DISK (h.pwrite, h.pread...)
nbd() {
  timeout 60 $PY - "$SOCK" "$1" "$2" <<'PYEOF'
import sys, nbd
sock, name, code = sys.argv[1:4]
h = nbd.NBD()
h.set_export_name(name)
h.connect_unix(sock)
exec(code)
PYEOF
}

if [ "$FE" = plugin ]; then
  require_tool nbdkit
  # shellcheck disable=SC2086 # VAR=value words on purpose
  env ${RNULL_NBDKIT_ENV:-} nbdkit -f -U "$SOCK" "$SERVER" control="$CTL" size=64M \
    >"$T/server.log" 2>&1 &
else
  "$SERVER" -f --unix "$SOCK" --control "$CTL" size=64M >"$T/server.log" 2>&1 &
fi
PID=$!
for _ in $(seq 100); do [ -S "$CTL" ] && [ -S "$SOCK" ] && break; sleep 0.1; done
echo "front end: $FE"

# --- data survives power off (item 1) ---
expect "create d1 memory_backed=1" ctl create d1 size=16M memory_backed=1
expect "write and flush 4 KiB" nbd d1 'h.pwrite(b"\xa5" * 4096, 8192); h.flush(); h.shutdown()'
expect "power d1 off" ctl power d1 off
expect "power d1 on" ctl power d1 on
expect_eq "read back after power off and on" a5a5 \
  "$(nbd d1 'print(h.pread(4096, 8192)[:2].hex()); h.shutdown()')"
expect_eq "unwritten blocks still zeros" 0000 \
  "$(nbd d1 'print(h.pread(4096, 0)[:2].hex()); h.shutdown()')"
expect "power d1 off again" ctl power d1 off
expect "resize while off" ctl set d1 size=32M
expect_err "a resize of a disk holding data refuses the power on" \
  "d1: cannot power on: size=33554432: the disk holds 4096 bytes of data written with size=16777216" \
  power d1 on
expect "size set back, powered on" ctl set d1 size=16M power=1
expect_eq "data still there" a5a5 "$(nbd d1 'print(h.pread(4096, 8192)[:2].hex()); h.shutdown()')"
expect "remove d1" ctl remove d1
expect "create d1 again" ctl create d1 size=16M memory_backed=1
expect_eq "remove freed the data" 0000 \
  "$(nbd d1 'print(h.pread(4096, 8192)[:2].hex()); h.shutdown()')"
expect "remove d1 again" ctl remove d1

checks_summary
