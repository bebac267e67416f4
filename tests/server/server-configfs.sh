#!/usr/bin/env bash
# rnull-server --configfs DIR: a null_blk-style configfs script (mkdir, echo
# into attributes, power, rmdir) runs unchanged but for its path, and what
# it made is served over NBD; live bad blocks; refusals come back as errno
# (EBUSY for a key that needs power off, EINVAL for a bad value); without
# /dev/fuse the option fails with a clear message.
# Usage: server-configfs.sh RNULL_SERVER
set -uo pipefail
SERVER=$1
PY=/usr/bin/python3
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
[ -c /dev/fuse ] || skip "/dev/fuse missing: no FUSE here, --configfs cannot mount"
require_tool nbdinfo fusermount3 unshare
help=$("$SERVER" --help)
grep -q -- --configfs <<<"$help" || skip "rnull-server built without FUSE"
make_tmpdir configfs
T=$TMPDIR_TEST
PID=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [ -z "$PID" ] || stop_pid "$PID"
  PID=
  mountpoint -q "$T/nullb" && fusermount3 -u "$T/nullb"
  test_cleanup
}
trap cleanup EXIT
SOCK=$T/nbd.sock
uri() { echo "nbd+unix:///$1?socket=$SOCK"; }

# No /dev/fuse (a mount namespace without it): a clear error, exit 1.
mkdir -p "$T/nofuse"
out=$(unshare -m --propagation private sh -c \
  "mount -t tmpfs tmpfs /dev && exec '$SERVER' -f --unix '$T/x.sock' --configfs '$T/nofuse'" 2>&1)
rc=$?
if [ $rc = 1 ] && grep -q -- "--configfs $T/nofuse: /dev/fuse: No such file or directory" <<<"$out"; then
  ok "no /dev/fuse: $out"
else not_ok "no /dev/fuse: rc=$rc $out"; fi

mkdir "$T/nullb"
"$SERVER" -f --unix "$SOCK" --configfs "$T/nullb" size=64M >"$T/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -e "$T/nullb/features" ] && break; sleep 0.1; done

# --- the null_blk script: only NULLB differs from /sys/kernel/config/nullb ---
NULLB=$T/nullb
nullb_create() { # as blktests' _configure_null_blk does
  local dev=$NULLB/$1
  shift
  mkdir "$dev" || return 1
  local p
  for p in "$@"; do
    echo "${p#*=}" >"$dev/${p%%=*}" || return 1
  done
  echo 1 >"$dev/power"
}
nullb_create nullb1 size=1024 blocksize=512 submit_queues=2 hw_queue_depth=64 memory_backed=1 \
  irqmode=2 completion_nsec=20000 && ok "the script created and powered nullb1" || not_ok "the script failed"
grep -q 'badblocks' "$NULLB/features" && grep -q '^size,' "$NULLB/features" && ok "features" ||
  not_ok "features: $(cat "$NULLB/features")"
expect_eq "nullb1 served: size" 1073741824 "$(nbdinfo --size "$(uri nullb1)")"
expect_eq "nullb1 served: block size" 512 "$(nbdinfo --json "$(uri nullb1)" | jq -r '.exports[0].block_size_minimum')"
expect_eq "size reads back in MB" 1024 "$(cat "$NULLB/nullb1/size")"
expect_eq "irqmode reads back as a number" 2 "$(cat "$NULLB/nullb1/irqmode")"
expect_eq "power reads 1" 1 "$(cat "$NULLB/nullb1/power")"
[[ "$(cat "$NULLB/nullb1/index")" =~ ^[0-9]+$ ]] && ok "index" || not_ok "index: $(cat "$NULLB/nullb1/index")"
ls "$NULLB" | grep -qx nullb1 && ok "ls lists nullb1" || not_ok "ls: $(ls "$NULLB")"

# --- live: bad blocks and a fault; refusals as errno ---
rd() { $PY -c '
import nbd, sys
h = nbd.NBD(); h.connect_uri(sys.argv[1])
try:
    h.pread(512, int(sys.argv[2])); print("ok")
except nbd.Error as e:
    print("EIO" if e.errno in (5, "EIO") else "err %s" % e.errno)' "$(uri nullb1)" "$1"; }
if $PY -c 'import nbd' 2>/dev/null; then
  echo "+8-15" >"$NULLB/nullb1/badblocks"
  expect_eq "echo +8-15 > badblocks: sector 8 fails" EIO "$(rd 4096)"
  expect_eq "sector 16 reads" ok "$(rd 8192)"
  echo "-8-15" >"$NULLB/nullb1/badblocks"
  expect_eq "echo -8-15 > badblocks: sector 8 reads" ok "$(rd 4096)"
  echo "1,100,0,-1" >"$NULLB/nullb1/error"
  expect_eq "echo error fault: EIO" EIO "$(rd 0)"
  echo "1,0,0,0" >"$NULLB/nullb1/error"
  expect_eq "fault off: reads" ok "$(rd 0)"
fi
out=$( (echo 2048 >"$NULLB/nullb1/size") 2>&1)
[ $? -ne 0 ] && grep -q "Device or resource busy" <<<"$out" && ok "size while powered: EBUSY" ||
  not_ok "size while powered: $out"
grep -q "nullb1: size: can only change while the disk is powered off" "$T/server.log" &&
  ok "the reason is logged" || not_ok "no reason in the log"

# --- power off, resize, power on; not_ok value; rmdir ---
echo 0 >"$NULLB/nullb1/power" || not_ok "power off"
nbdinfo --size "$(uri nullb1)" >/dev/null 2>&1 && not_ok "served while off" || ok "not served while off"
out=$( (echo 1000 >"$NULLB/nullb1/blocksize") 2>&1)
[ $? -ne 0 ] && grep -q "Invalid argument" <<<"$out" && ok "blocksize=1000: EINVAL" || not_ok "blocksize=1000: $out"
echo 2048 >"$NULLB/nullb1/size" && echo 1 >"$NULLB/nullb1/power" || not_ok "resize and power on"
expect_eq "power on again: new size" 2147483648 "$(nbdinfo --size "$(uri nullb1)")"
rmdir "$NULLB/nullb1" || not_ok "rmdir"
[ -e "$NULLB/nullb1" ] && not_ok "nullb1 still there" || ok "rmdir removed nullb1"
nbdinfo --size "$(uri nullb1)" >/dev/null 2>&1 && not_ok "removed disk served" || ok "removed disk gone"
mkdir "$NULLB/nullb1" && rmdir "$NULLB/nullb1" && ok "mkdir/rmdir again" || not_ok "mkdir/rmdir again"
mkdir "$NULLB/bad/name" 2>/dev/null && not_ok "nested mkdir" || ok "nested mkdir refused"

# --- the action files: power_cut, mark, hold, release (write-only) ---
nullb_create cut1 size=16 memory_backed=1 cache_size=1048576 log_writes="$T/cut1.log" &&
  ok "a cached, logged disk" || not_ok "cut1: $(tail -2 "$T/server.log")"
expect_eq "power_cut is write-only" 200 "$(stat -c %a "$NULLB/cut1/power_cut")"
cat "$NULLB/cut1/power_cut" 2>/dev/null && not_ok "power_cut read" || ok "power_cut cannot be read"
echo first-mark >"$NULLB/cut1/mark" && ok "echo TEXT > mark" || not_ok "mark: $(tail -2 "$T/server.log")"
grep -q first-mark "$T/cut1.log" && ok "the mark is in the write log" || not_ok "mark not in the log"
(echo "a b" >"$NULLB/cut1/mark") 2>/dev/null && not_ok "a mark with a blank" || ok "a blank in a mark refused"
echo read,write >"$NULLB/cut1/hold" && ok "echo read,write > hold" || not_ok "hold: $(tail -2 "$T/server.log")"
(echo bogus >"$NULLB/cut1/hold") 2>/dev/null && not_ok "hold bogus" || ok "hold of an unknown op refused"
echo 0 >"$NULLB/cut1/release" && ok "echo 0 > release" || not_ok "release: $(tail -2 "$T/server.log")"
echo "lose=all,seed=7" >"$NULLB/cut1/power_cut" && ok "echo lose=all,seed=7 > power_cut" ||
  not_ok "power_cut: $(tail -2 "$T/server.log")"
expect_eq "the cut powered the disk off" 0 "$(cat "$NULLB/cut1/power")"
(echo "lose=maybe" >"$NULLB/cut1/power_cut") 2>/dev/null && not_ok "power_cut of a powered-off disk" ||
  ok "a cut of a powered-off disk refused"
rmdir "$NULLB/cut1" || not_ok "rmdir cut1"

kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && not_ok "server did not exit" || { wait "$PID"; expect_eq "exit status" 0 $?; }
mountpoint -q "$NULLB" && not_ok "still mounted after exit" || ok "unmounted at exit"
[ "$CHECKS_FAILED" = 0 ] || { echo "--- server log"; cat "$T/server.log"; }
checks_summary
