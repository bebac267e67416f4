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
[ -c /dev/fuse ] || { echo "SKIP: /dev/fuse missing: no FUSE here, --configfs cannot mount"; exit 77; }
for t in nbdinfo fusermount3 unshare; do
  command -v "$t" >/dev/null || { echo "SKIP: $t missing"; exit 77; }
done
help=$("$SERVER" --help)
grep -q -- --configfs <<<"$help" || { echo "SKIP: rnull-server built without FUSE"; exit 77; }
T=$(mktemp -d /tmp/rnull-configfs.XXXXXX)
PID=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID"
    for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  mountpoint -q "$T/nullb" && fusermount3 -u "$T/nullb"
  rm -rf "$T"
}
trap cleanup EXIT
fail=0
ok() { echo "ok: $1"; }
bad() { echo "FAIL: $1"; fail=1; }
check() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: expected '$2', got '$3'"; fi; }
SOCK=$T/nbd.sock
uri() { echo "nbd+unix:///$1?socket=$SOCK"; }

# No /dev/fuse (a mount namespace without it): a clear error, exit 1.
mkdir -p "$T/nofuse"
out=$(unshare -m --propagation private sh -c \
  "mount -t tmpfs tmpfs /dev && exec '$SERVER' -f --unix '$T/x.sock' --configfs '$T/nofuse'" 2>&1)
rc=$?
if [ $rc = 1 ] && grep -q -- "--configfs $T/nofuse: /dev/fuse: No such file or directory" <<<"$out"; then
  ok "no /dev/fuse: $out"
else bad "no /dev/fuse: rc=$rc $out"; fi

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
  irqmode=2 completion_nsec=20000 && ok "the script created and powered nullb1" || bad "the script failed"
grep -q 'badblocks' "$NULLB/features" && grep -q '^size,' "$NULLB/features" && ok "features" ||
  bad "features: $(cat "$NULLB/features")"
check "nullb1 served: size" 1073741824 "$(nbdinfo --size "$(uri nullb1)")"
check "nullb1 served: block size" 512 "$(nbdinfo --json "$(uri nullb1)" | jq -r '.exports[0].block_size_minimum')"
check "size reads back in MB" 1024 "$(cat "$NULLB/nullb1/size")"
check "irqmode reads back as a number" 2 "$(cat "$NULLB/nullb1/irqmode")"
check "power reads 1" 1 "$(cat "$NULLB/nullb1/power")"
[[ "$(cat "$NULLB/nullb1/index")" =~ ^[0-9]+$ ]] && ok "index" || bad "index: $(cat "$NULLB/nullb1/index")"
ls "$NULLB" | grep -qx nullb1 && ok "ls lists nullb1" || bad "ls: $(ls "$NULLB")"

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
  check "echo +8-15 > badblocks: sector 8 fails" EIO "$(rd 4096)"
  check "sector 16 reads" ok "$(rd 8192)"
  echo "-8-15" >"$NULLB/nullb1/badblocks"
  check "echo -8-15 > badblocks: sector 8 reads" ok "$(rd 4096)"
  echo "1,100,0,-1" >"$NULLB/nullb1/error"
  check "echo error fault: EIO" EIO "$(rd 0)"
  echo "1,0,0,0" >"$NULLB/nullb1/error"
  check "fault off: reads" ok "$(rd 0)"
fi
out=$( (echo 2048 >"$NULLB/nullb1/size") 2>&1)
[ $? -ne 0 ] && grep -q "Device or resource busy" <<<"$out" && ok "size while powered: EBUSY" ||
  bad "size while powered: $out"
grep -q "nullb1: size: can only change while the disk is powered off" "$T/server.log" &&
  ok "the reason is logged" || bad "no reason in the log"

# --- power off, resize, power on; bad value; rmdir ---
echo 0 >"$NULLB/nullb1/power" || bad "power off"
nbdinfo --size "$(uri nullb1)" >/dev/null 2>&1 && bad "served while off" || ok "not served while off"
out=$( (echo 1000 >"$NULLB/nullb1/blocksize") 2>&1)
[ $? -ne 0 ] && grep -q "Invalid argument" <<<"$out" && ok "blocksize=1000: EINVAL" || bad "blocksize=1000: $out"
echo 2048 >"$NULLB/nullb1/size" && echo 1 >"$NULLB/nullb1/power" || bad "resize and power on"
check "power on again: new size" 2147483648 "$(nbdinfo --size "$(uri nullb1)")"
rmdir "$NULLB/nullb1" || bad "rmdir"
[ -e "$NULLB/nullb1" ] && bad "nullb1 still there" || ok "rmdir removed nullb1"
nbdinfo --size "$(uri nullb1)" >/dev/null 2>&1 && bad "removed disk served" || ok "removed disk gone"
mkdir "$NULLB/nullb1" && rmdir "$NULLB/nullb1" && ok "mkdir/rmdir again" || bad "mkdir/rmdir again"
mkdir "$NULLB/bad/name" 2>/dev/null && bad "nested mkdir" || ok "nested mkdir refused"

kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && bad "server did not exit" || { wait "$PID"; check "exit status" 0 $?; }
mountpoint -q "$NULLB" && bad "still mounted after exit" || ok "unmounted at exit"
[ $fail = 0 ] || { echo "--- server log"; cat "$T/server.log"; }
exit $fail
