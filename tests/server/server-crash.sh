#!/usr/bin/env bash
# Durability through NBD: data written and flushed survives power off and on
# (null_blk); remove frees it; a resize of a disk holding data refuses the
# power on; cache_size: flush and FUA advertised (FUA not with fua=0), reads
# through the cache, power-cut lose=all loses the unflushed write but keeps
# the flushed and the FUA ones, the seed and the report (text, JSON), every
# error; rnull-server drops a client with a request in flight without a
# reply. Both front ends: rnull-server --control, and nbdkit rnull.so
# control=.
# Usage: server-crash.sh server RNULL_SERVER RNULL_CTL
#        server-crash.sh plugin RNULL_PLUGIN_SO RNULL_CTL
set -uo pipefail
FE=$1
SERVER=$2
CTLBIN=$3
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool timeout jq
make_tmpdir crash
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
# shellcheck source=../lib/ctl_frontend.sh
. "$(dirname "$0")/../lib/ctl_frontend.sh"
$PY -c 'import nbd' 2>/dev/null || skip "$PY has no nbd module"
start_ctl_frontend 64M

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

# --- cache_size, fua, power-cut (items 2, 3) ---
expect_err "cache_size without memory_backed" \
  "c0: cache_size=4194304 needs memory_backed=1" create c0 size=16M cache_size=4M
expect_err "cache_size in MiB as null_blk's" "c0: cache_size=64: below 1 MiB.*cache_size=64M" \
  create c0 size=16M memory_backed=1 cache_size=64
expect_err "fua=0 without a cache" "c0: fua=0 needs cache_size" create c0 size=16M memory_backed=1 fua=0
expect "create c1 cache_size=4M" ctl create c1 size=16M memory_backed=1 cache_size=4M
expect "create c2 fua=0" ctl create c2 size=16M memory_backed=1 cache_size=4M fua=0
expect_eq "c1 offers flush and FUA" "True True" "$(nbd c1 'print(h.can_flush(), h.can_fua()); h.shutdown()')"
expect_eq "c2 (fua=0) offers flush, not FUA" "True False" \
  "$(nbd c2 'print(h.can_flush(), h.can_fua()); h.shutdown()')"
expect_eq "written, flushed, written, FUA-written; read through the cache" b2 "$(nbd c1 '
h.pwrite(b"\xa1" * 4096, 0); h.flush()
h.pwrite(b"\xb2" * 4096, 4096)
h.pwrite(b"\xc3" * 4096, 8192, nbd.CMD_FLAG_FUA)
print(h.pread(4096, 4096)[:1].hex()); h.shutdown()')"
expect_eq "cache: dirty bytes" dirty_bytes=4096 "$(ctl cache c1 | head -1)"
out=$(ctl power-cut c1 lose=all seed=5 2>&1)
if grep -q "power cut c1: lose=all keep=50 torn=0 seed=5" <<<"$out" &&
  grep -q "seq 2 write offset 4096 length 4096 epoch 1: lost" <<<"$out"; then
  ok "power-cut: seed and report"
else not_ok "power-cut report: $out"; fi
grep -q "rnull: power cut of c1: lose=all keep=50 torn=0 seed=5" "$T/server.log" &&
  ok "the seed is logged" || not_ok "no log line of the cut"
expect_eq "powered off by the cut" power=0 "$(ctl get c1 power | head -1)"
expect "power c1 on" ctl power c1 on
expect_eq "flushed kept, unflushed lost, FUA kept" "a1 00 c3" "$(nbd c1 '
print(h.pread(4096, 0)[:1].hex(), h.pread(4096, 4096)[:1].hex(), h.pread(4096, 8192)[:1].hex())
h.shutdown()')"
expect "unflushed writes on c2" nbd c2 'h.pwrite(b"\x01" * 8192, 0); h.pwrite(b"\x02" * 4096, 0); h.shutdown()'
out=$(ctl power-cut c2 lose=some keep=100 torn=1 seed=77 --json 2>&1)
if jq -e '.seed == 77 and .lose == "some" and (.writes | length) == 2 and
  (.writes[0] | .offset == 0 and .length == 8192)' <<<"$(head -1 <<<"$out")" >/dev/null 2>&1; then
  ok "power-cut --json: $(head -c 200 <<<"$out")"
else not_ok "power-cut --json: $out"; fi
expect_err "bad lose=" "c2: power-cut: lose=most: invalid value: expected all, some or prefix" \
  power-cut c2 lose=most
expect_err "keep out of 0..100" "c2: power-cut: keep=101: invalid value: expected a percentage from 0 to 100" \
  power-cut c2 keep=101
expect_err "bad torn=" "c2: power-cut: torn=2: invalid value: expected 0 or 1" power-cut c2 torn=2
expect_err "bad seed=" "c2: power-cut: seed=x: invalid value" power-cut c2 seed=x
expect_err "powered off" "c2: powered off: nothing to cut" power-cut c2
expect_err "unknown disk" "zz: unknown disk" power-cut zz
expect_err "the front end's own disk" "rnullb0: the front end's own disk .* cannot be power-cut" \
  power-cut rnullb0

# --- a request in flight gets no reply: the connection drops (rnull-server) ---
if [ "$FE" = server ]; then
  expect "create s1 (writes take 5 s)" ctl create s1 size=16M memory_backed=1 cache_size=1M \
    write_latency=fixed:5s
  got=$(timeout 60 $PY - "$SOCK" "$CTLBIN" "$CTL" <<'PYEOF'
import sys, time, subprocess, nbd
sock, ctlbin, ctl = sys.argv[1:4]
h = nbd.NBD()
h.set_export_name("s1")
h.connect_unix(sock)
cookie = h.aio_pwrite(b"\x09" * 4096, 0)
time.sleep(0.3)
t0 = time.time()
cut = subprocess.run([ctlbin, "--control", ctl, "power-cut", "s1"], capture_output=True, text=True)
gone = lambda: h.aio_is_dead() or h.aio_is_closed()
while not gone() and time.time() - t0 < 10:
    h.poll(100)
try:
    h.aio_command_completed(cookie)
    print("replied")
except nbd.Error as e:  # libnbd retires it: the server closed the connection
    print("dead" if gone() else "error", "%.1f" % (time.time() - t0), cut.returncode)
PYEOF
)
  case $got in
  "dead "*" 0") ok "in-flight write: no reply, the connection dropped ($got)" ;;
  *) not_ok "in-flight write during the cut: '$got'" ;;
  esac
  expect "power s1 on" ctl power s1 on
  expect_eq "the write in flight did not land" 00 "$(nbd s1 'print(h.pread(4096, 0)[:1].hex()); h.shutdown()')"
fi

# --- scheduled power cuts (power_cut=, item 4): the 4th request fires ---
expect "create p1 power_cut=1,100,4,1" ctl create p1 size=16M memory_backed=1 cache_size=1M \
  power_cut=1,100,4,1 fault_seed=3
got=$(nbd p1 '
res = []
for i in range(6):
    try:
        h.pwrite(bytes([i + 1]) * 4096, i * 4096); res.append("ok")
    except nbd.Error as e:
        res.append("dead" if h.aio_is_dead() or h.aio_is_closed() else "eio")
        if res[-1] == "dead": break
if sys.argv[4] == "server":  # then the connection drops, and the disk powers off
    import subprocess
    t0 = time.time()
    while time.time() - t0 < 20 and subprocess.run(
            [sys.argv[5], "--control", sys.argv[6], "get", "p1", "power"],
            capture_output=True, text=True).stdout.split()[0] != "power=0":
        time.sleep(0.05)
    t0 = time.time()  # the drop may reach the client a moment after power=0
    while time.time() - t0 < 5:
        try:
            h.pread(4096, 0)  # (512 is below the block size: libnbd refuses it unsent)
        except nbd.Error:
            pass
        if h.aio_is_dead() or h.aio_is_closed():
            break
        time.sleep(0.05)
    res.append("dropped" if h.aio_is_dead() or h.aio_is_closed() else "alive(%s)" % h.connection_state())
print(" ".join(res[:4]), res[-1])' "$FE" "$CTLBIN" "$CTL")
case "$FE:$got" in
server:"ok ok ok eio dropped") ok "server: the 4th request fires (EIO), the connection drops ($got)" ;;
plugin:"ok ok ok eio eio") ok "plugin: the 4th request fires, later ones fail ($got)" ;;
*) not_ok "scheduled power cut: '$got'" ;;
esac
for _ in $(seq 100); do [ "$(ctl get p1 power | head -1)" = power=0 ] && break; sleep 0.1; done
expect_eq "the disk powered off by itself" power=0 "$(ctl get p1 power | head -1)"
grep -q "rnull: scheduled power cut of p1 (power_cut=): seed=" "$T/server.log" &&
  ok "the scheduled cut's seed is logged" || not_ok "no log line of the scheduled cut"
expect "power_cut off, power on" ctl set p1 power_cut=1,0,0,0 power=1
expect_eq "lose=all: nothing unflushed survived" 00 "$(nbd p1 'print(h.pread(4096, 0)[:1].hex()); h.shutdown()')"
expect_err "power_cut without cache_size" "x: power_cut needs cache_size" create x size=16M \
  memory_backed=1 power_cut=1,100,4,1

checks_summary
