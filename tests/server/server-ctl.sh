#!/usr/bin/env bash
# Disks created, changed and powered at run time (rnull-server --control,
# rnull-ctl): three disks of different sizes and block sizes seen by
# nbdinfo --list/--json; nr_devices; every error message; the error fault
# and bad blocks changed live under fio load (EIO starts and stops within a
# second, seen by a probe); power off under fio (errors or a disconnect,
# never a hang; the server stays up); remove and re-create with another
# size; socat speaks the protocol; another uid is refused.
# Both front ends: rnull-server --control, and nbdkit rnull.so control=.
# Usage: server-ctl.sh server RNULL_SERVER RNULL_CTL
#        server-ctl.sh plugin RNULL_PLUGIN_SO RNULL_CTL
set -uo pipefail
FE=$1
SERVER=$2
CTLBIN=$3
PY=/usr/bin/python3 # has the nbd module (libnbd's bindings)
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool nbdinfo fio jq socat setpriv timeout
$PY -c 'import nbd' 2>/dev/null || skip "$PY has no nbd module"
make_tmpdir ctl
T=$TMPDIR_TEST
chmod 755 "$T"
PID=
BG=()
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  for p in "${BG[@]}"; do kill "$p" 2>/dev/null; done
  test_cleanup
}
trap cleanup EXIT
CTL=$T/control
SOCK=$T/nbd.sock
ctl() { timeout 60 "$CTLBIN" --control "$CTL" "$@"; }
uri() { echo "nbd+unix:///$1?socket=$SOCK"; }
# expect_err DESCRIPTION PATTERN COMMAND...: fails with a message matching
expect_err() {
  local d=$1 pat=$2 out rc
  shift 2
  out=$(ctl "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && grep -qE -- "$pat" <<<"$out"; then ok "$d: $out"; else not_ok "$d: rc=$rc '$out' !~ /$pat/"; fi
}

if [ "$FE" = plugin ]; then
  require_tool nbdkit
  # RNULL_NBDKIT_ENV: a sanitizer's runtime for nbdkit alone (CMake sets it)
  # shellcheck disable=SC2086 # VAR=value words on purpose
  env ${RNULL_NBDKIT_ENV:-} nbdkit -f -U "$SOCK" "$SERVER" control="$CTL" size=64M nr_devices=2 \
    >"$T/server.log" 2>&1 &
else
  "$SERVER" -f --unix "$SOCK" --control "$CTL" size=64M nr_devices=2 >"$T/server.log" 2>&1 &
fi
PID=$!
for _ in $(seq 100); do [ -S "$CTL" ] && nbdinfo --size "$(uri "")" >/dev/null 2>&1 && break; sleep 0.1; done
expect_eq "control socket mode 0600" 600 "$(stat -c %a "$CTL")"

# --- nr_devices and three run-time disks ---
echo "front end: $FE"
expect_eq "nr_devices=2: rnullb1 exists" 67108864 "$(nbdinfo --size "$(uri rnullb1)")"
ctl create small size=16M blocksize=512 || not_ok "create small"
ctl create big size=1G blocksize=4096 memory_backed=1 || not_ok "create big"
ctl create mid size=96M blocksize=1024 physical_blocksize=4096 || not_ok "create mid"
list=$(nbdinfo --list --json "$(uri "")")
for spec in small:16777216:512 big:1073741824:4096 mid:100663296:1024; do
  IFS=: read -r n size bs <<<"$spec"
  expect_eq "nbdinfo --list --json: $n size" "$size" \
    "$(jq -r ".exports[] | select(.\"export-name\" == \"$n\") | .\"export-size\"" <<<"$list")"
  expect_eq "nbdinfo --list --json: $n block size" "$bs" \
    "$(jq -r ".exports[] | select(.\"export-name\" == \"$n\") | .block_size_minimum" <<<"$list")"
  expect_eq "nbdinfo --json $n: size" "$size" \
    "$(nbdinfo --json "$(uri "$n")" | jq -r '.exports[0]."export-size"')"
done
expect_eq "mid: preferred block size" 4096 \
  "$(nbdinfo --json "$(uri mid)" | jq -r '.exports[0].block_size_preferred')"
nbdinfo --list "$(uri "")" | grep -q 'description: rnull disk big: 1073741824 bytes, 4096-byte blocks, memory store' &&
  ok "NBD_OPT_LIST carries descriptions" || not_ok "NBD_OPT_LIST description: $(nbdinfo --list "$(uri "")" | grep description)"
ctl create off size=8M power=0 || not_ok "create power=0"
nbdinfo --list "$(uri "")" | grep -q 'export="off"' && not_ok "a powered-off disk is listed" ||
  ok "a powered-off disk is not listed"
nbdinfo --size "$(uri off)" >/dev/null 2>"$T/e" && not_ok "powered-off disk served" ||
  ok "powered-off disk: NBD_REP_ERR_UNKNOWN ($(tr -d '\n' <"$T/e" | cut -c1-80))"
nbdinfo --size "$(uri nosuch)" >/dev/null 2>&1 && not_ok "unknown disk served" || ok "unknown export refused"
ctl list >"$T/list" || not_ok "list"
grep -qE '^small +on +16M +512 ' "$T/list" && grep -qE '^off +off +8M ' "$T/list" &&
  ok "list: name, state, size, block size" || { not_ok "list table"; cat "$T/list"; }
expect_eq "get one key" "blocksize=1024" "$(ctl get mid blocksize)"
expect_eq "get power" "power=0" "$(ctl get off power)"
ctl features | grep -q '^size,blocksize,.*,badblocks,.*power$' && ok "features" || not_ok "features: $(ctl features)"
expect_eq "socat speaks the protocol" "ok" "$(printf 'get small size\n' | socat - UNIX-CONNECT:"$CTL" | tail -1)"
expect_eq "socat: output before ok" "size=16777216" "$(printf 'get small size\n' | socat - UNIX-CONNECT:"$CTL" | head -1)"

# --- every error message ---
expect_err "name taken" "^rnull-ctl: small: name taken" create small
expect_err "unknown disk" "^rnull-ctl: nosuch: unknown disk" set nosuch mbps=1
expect_err "bad value names key, value, range" "off: blocksize=1000: .*power of two from 512 to 4096" set off blocksize=1000
expect_err "bad value at create" "x1: size=12Q: " create x1 size=12Q
expect_err "unknown key" "small: nokey: unknown key" set small nokey=1
expect_err "unknown key (off)" "off: .*nokey" set off nokey=1
expect_err "geometry needs power off" "small: size: can only change while the disk is powered off" set small size=32M
expect_err "bad name" "disk name 'a/b'" create a/b
expect_err "name too long" "must be 1 to 31 bytes" create aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
expect_err "the command line's disk is pinned" "rnullb0: .*cannot be powered off" power rnullb0 off
expect_err "power argument" "small: power 'sideways': expected on or off" power small sideways
expect_err "badblocks syntax" "small: badblocks 7: invalid value" badblocks small 7
expect_err "badblocks past the end" "small: badblocks: range .* past the last sector" badblocks small +0-99999999
expect_err "live value checked" "small: error=.*probability 0..100" set small error=1,200,0,-1
expect_err "stats of a powered-off disk" "off: powered off: no statistics" stats off
expect_err "unknown command" "frobnicate: unknown command" frobnicate
expect_err "name is not settable" "off: name: cannot be set" set off name=zz
expect_err "config check across keys" "off: size=.*multiple of blocksize" set off size=1000

# --- live error fault under fio load ---
fio --name=load --ioengine=nbd --uri="$(uri small)" --rw=randread --bs=4k --iodepth=8 \
  --time_based --runtime=8 --continue_on_error=all --output-format=json \
  --output="$T/fio-fault.json" >/dev/null 2>&1 &
FIO=$!
BG+=("$FIO")
cat >"$T/probe.py" <<'PYEOF'
import nbd, sys, time
# probe URI SECONDS: read block 8 every 2 ms; print "t ok|err" on each change
h = nbd.NBD(); h.connect_uri(sys.argv[1])
end = time.monotonic() + float(sys.argv[2]); last = None
while time.monotonic() < end:
    try:
        h.pread(4096, 4096 * 8); st = "ok"
    except nbd.Error:
        st = "err"
    if st != last:
        print("%.6f %s" % (time.clock_gettime(time.CLOCK_MONOTONIC), st), flush=True); last = st
    time.sleep(0.002)
PYEOF
$PY "$T/probe.py" "$(uri small)" 6 >"$T/probe" &
PROBE=$!
BG+=("$PROBE")
sleep 1
t_on=$($PY -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))')
ctl set small error=1,100,0,-1 || not_ok "set error live"
sleep 2
t_off=$($PY -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))')
ctl set small error=off || not_ok "set error=off live"
wait $PROBE
err_at=$(awk '$2 == "err" { print $1; exit }' "$T/probe")
ok_at=$(awk -v t="$t_off" '$2 == "ok" && $1 > t { print $1; exit }' "$T/probe")
if [ -n "$err_at" ] && awk -v a="$t_on" -v b="$err_at" 'BEGIN { exit !(b > a && b - a < 1) }'; then
  ok "EIO started $(awk -v a="$t_on" -v b="$err_at" 'BEGIN { printf "%.3f", b - a }') s after set error"
else not_ok "EIO did not start within 1 s (probe: $(tr '\n' ' ' <"$T/probe"))"; fi
if [ -n "$ok_at" ] && awk -v a="$t_off" -v b="$ok_at" 'BEGIN { exit !(b - a < 1) }'; then
  ok "EIO stopped $(awk -v a="$t_off" -v b="$ok_at" 'BEGIN { printf "%.3f", b - a }') s after error=off"
else not_ok "EIO did not stop within 1 s (probe: $(tr '\n' ' ' <"$T/probe"))"; fi
wait $FIO
errs=$(jq '.jobs[0].error // 0, (.jobs[0].read.total_ios // 0)' "$T/fio-fault.json" 2>/dev/null | tr '\n' ' ')
ctl stats small --json | jq -e '.total.errors > 0' >/dev/null && ok "fio load saw the errors (stats: $(ctl stats small --json | jq .total.errors) errors; fio: $errs)" ||
  not_ok "no errors counted under fio"

# --- live bad blocks ---
cat >"$T/rd.py" <<'PYEOF'
import nbd, sys
h = nbd.NBD(); h.connect_uri(sys.argv[1])
try:
    h.pread(int(sys.argv[3]), int(sys.argv[2])); print("ok")
except nbd.Error as e:
    print("EIO" if e.errno in (5, "EIO") else "err %s" % e.errno)
PYEOF
rd() { $PY "$T/rd.py" "$(uri "$1")" "$2" "${3:-512}"; }
expect_eq "before badblocks: sector 16 reads" ok "$(rd small 8192)"
ctl badblocks small +16-23 || not_ok "badblocks +"
expect_eq "badblocks +16-23: sector 16 is EIO" EIO "$(rd small 8192)"
expect_eq "badblocks +16-23: sector 24 reads" ok "$(rd small 12288)"
expect_eq "get badblocks" "badblocks=16-23" "$(ctl get small badblocks)"
ctl badblocks small -16-23 || not_ok "badblocks -"
expect_eq "badblocks -16-23: sector 16 reads again" ok "$(rd small 8192)"
ctl badblocks off +0-7 && expect_eq "badblocks on a powered-off disk: recorded" "badblocks=0-7" "$(ctl get off badblocks)"

# --- power off under fio load ---
fio --name=load --ioengine=nbd --uri="$(uri big)" --rw=randrw --bs=64k --iodepth=16 \
  --time_based --runtime=30 --output="$T/fio-power.txt" >/dev/null 2>&1 &
FIO=$!
BG+=("$FIO")
sleep 1.5
start=$SECONDS
ctl power big off && ok "power off under load returned in $((SECONDS - start)) s" || not_ok "power off under load"
for _ in $(seq 150); do kill -0 $FIO 2>/dev/null || break; sleep 0.1; done
if kill -0 $FIO 2>/dev/null; then not_ok "fio still running 15 s after power off (a hang)"; else
  wait $FIO
  ok "fio ended after power off (exit $?: errors or disconnect)"
fi
kill -0 "$PID" && ok "server still up" || not_ok "server died"
expect_eq "other disks still served" 16777216 "$(nbdinfo --size "$(uri small)")"
nbdinfo --size "$(uri big)" >/dev/null 2>&1 && not_ok "big served while off" || ok "big refused while off"
grep -qE '^big +off ' <(ctl list) && ok "list: big off" || not_ok "list after power off"

# --- power off with requests in flight: they complete (no lost reply), a
# new request fails (ESHUTDOWN) or finds the connection closed ---
ctl create slow size=16M irqmode=timer completion_nsec=400000000 || not_ok "create slow"
cat >"$T/inflight.py" <<'PYEOF'
import nbd, sys, time
h = nbd.NBD(); h.connect_uri(sys.argv[1])
bufs = [nbd.Buffer(4096) for _ in range(8)]
cookies = [h.aio_pread(b, i * 4096) for i, b in enumerate(bufs)]  # each ends 400 ms later
time.sleep(0.1)  # (sent at once; let the front end take them in)
print("submitted", flush=True)
sys.stdin.readline()  # the host powers the disk off, then says go
done = {}  # cookie -> "ok" or the error (a cookie is retired once seen)
end = time.monotonic() + 10
while len(done) < 8 and time.monotonic() < end:
    h.poll(100)
    for c in cookies:
        if c not in done:
            try:
                if h.aio_command_completed(c):
                    done[c] = "ok"
            except nbd.Error as e:
                done[c] = "error %s" % e.errno
ok = sum(1 for v in done.values() if v == "ok")
print("inflight_completed %d" % ok, flush=True)
try:
    h.pread(4096, 0); print("after: ok")
except nbd.Error as e:
    print("after: error %s" % e.errno)
PYEOF
# FIFOs, not a coproc: a probe that dies early must fail a check, not unset
# the coproc's variables under bash's feet.
mkfifo "$T/infl.in" "$T/infl.out"
exec 7<>"$T/infl.out" 8<>"$T/infl.in"
$PY "$T/inflight.py" "$(uri slow)" <"$T/infl.in" >"$T/infl.out" 2>&1 &
BG+=("$!")
read -r -t 10 line <&7
[ "$line" = submitted ] || not_ok "in-flight probe did not start: $line"
ctl power slow off >"$T/poweroff.out" 2>&1 &
POFF=$!
sleep 0.1
echo go >&8
read -r -t 15 done_line <&7
read -r -t 15 after_line <&7
exec 7>&- 8>&-
expect_eq "power off: the 8 requests in flight got their replies" "inflight_completed 8" "$done_line"
case $after_line in
"after: error"*) ok "power off: the next request fails ($after_line)" ;;
*) not_ok "power off: the next request did not fail: '$after_line'" ;;
esac
for _ in $(seq 150); do kill -0 $POFF 2>/dev/null || break; sleep 0.1; done
kill -0 $POFF 2>/dev/null && not_ok "power off still waiting 15 s after its client" ||
  { wait $POFF && ok "power off returned once the client was gone" || not_ok "power off: $(cat "$T/poweroff.out")"; }
ctl remove slow || not_ok "remove slow"

# --- size change while off (refused: data), power on, remove and re-create ---
# big holds fio's data: a memory-backed disk keeps its size while it does
ctl set big size=2G || not_ok "resize while off"
expect_err "resize of a disk holding data refused at power on" \
  "big: cannot power on: size=2147483648: the disk holds [0-9]+ bytes of data" power big on
ctl set big size=1G && ctl power big on || not_ok "size set back, power on"
expect_eq "power on again: its size" 1073741824 "$(nbdinfo --size "$(uri big)")"
ctl remove big || not_ok "remove"
nbdinfo --size "$(uri big)" >/dev/null 2>&1 && not_ok "removed disk served" || ok "removed disk gone"
expect_err "removed disk unknown" "big: unknown disk" get big
ctl create big size=512M blocksize=512 || not_ok "re-create"
expect_eq "re-created with another size" 536870912 "$(nbdinfo --size "$(uri big)")"
ctl remove mid && ctl remove off || not_ok "remove others"

# --- another uid ---
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTLBIN" --control "$CTL" list 2>&1) &&
  not_ok "uid 65534 got through the 0600 socket" || ok "0600 socket keeps uid 65534 out: $out"
chmod 666 "$CTL"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTLBIN" --control "$CTL" list 2>&1)
rc=$?
if [ $rc -ne 0 ] && grep -q "permission denied: uid 65534 is neither root nor the server's uid" <<<"$out"; then
  ok "SO_PEERCRED refuses uid 65534: $out"
else not_ok "uid 65534 not refused by SO_PEERCRED: rc=$rc $out"; fi

kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$PID" 2>/dev/null && not_ok "server did not exit on SIGTERM" || { wait "$PID"; expect_eq "server exit status" 0 $?; }
[ -e "$CTL" ] && not_ok "control socket left behind" || ok "control socket removed at exit"
[ "$CHECKS_FAILED" = 0 ] || { echo "--- server log"; cat "$T/server.log"; }
checks_summary
