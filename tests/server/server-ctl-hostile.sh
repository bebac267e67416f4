#!/usr/bin/env bash
# The control socket under careless and hostile use (issue 22), against both
# front ends (rnull-server --control, nbdkit rnull.so control=):
#  - a hist:FILE that is a FIFO or /dev/zero is refused at once, naming the
#    key, and other clients (list, NBD) are served meanwhile;
#  - a NUL or a control character in a line is refused, nothing created;
#  - 150 idle control clients: 64 served, the others refused with one line;
#    the threads stay few; with RLIMIT_NOFILE 128 NBD clients still connect;
#  - a stale socket at the control path (a crash) is replaced on restart, a
#    live one (another server) refused.
# Usage: server-ctl-hostile.sh server RNULL_SERVER RNULL_CTL
#        server-ctl-hostile.sh plugin RNULL_PLUGIN_SO RNULL_CTL
set -uo pipefail
FE=$1
SERVER=$2
CTLBIN=$3
PY=/usr/bin/python3
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool nbdinfo socat timeout prlimit
make_tmpdir ctlhostile
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
CTL=$T/control
SOCK=$T/nbd.sock
ctl() { timeout 10 "$CTLBIN" --control "$CTL" "$@"; }
uri() { echo "nbd+unix:///$1?socket=$SOCK"; }
[ "$FE" = plugin ] && require_tool nbdkit

# start [prlimit args...]: the front end on $SOCK and $CTL, into $PID
start() {
  rm -f "$SOCK" # (nbdkit -U does not replace a stale socket)
  if [ "$FE" = plugin ]; then
    # shellcheck disable=SC2086 # VAR=value words on purpose
    env ${RNULL_NBDKIT_ENV:-} prlimit "$@" -- nbdkit -f -U "$SOCK" "$SERVER" control="$CTL" \
      size=64M >>"$T/server.log" 2>&1 &
  else
    prlimit "$@" -- "$SERVER" -f --unix "$SOCK" --control "$CTL" size=64M >>"$T/server.log" 2>&1 &
  fi
  PID=$!
  for _ in $(seq 100); do [ -S "$CTL" ] && nbdinfo --size "$(uri "")" >/dev/null 2>&1 && break; sleep 0.1; done
}
stop() {
  stop_pid "$PID"
  PID=
}

start

# --- 4. a NUL or a control character in a line ---
out=$(printf 'create a\0 power=0\n' | timeout 5 socat - UNIX-CONNECT:"$CTL")
grep -q '^error: a NUL byte' <<<"$out" && ok "NUL refused: $out" || not_ok "NUL: $out"
out=$(printf 'create b\001 power=0\n' | timeout 5 socat - UNIX-CONNECT:"$CTL")
grep -q '^error: control character' <<<"$out" && ok "control character refused: $out" || not_ok "control character: $out"
ctl get a power >/dev/null 2>&1 && not_ok "disk a was created" || ok "no disk a"
ctl get b power >/dev/null 2>&1 && not_ok "disk b was created" || ok "no disk b"

# --- 2. idle clients: a cap, a line each over it, few threads ---
threads() { awk '/^Threads:/ { print $2 }' "/proc/$PID/status"; }
before=$(threads)
timeout 20 $PY - "$CTL" >"$T/idle.out" <<'PYEOF' &
import socket, sys, time
ss, refused = [], 0
for i in range(150):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])  # blocking: a full backlog waits (the shell's timeout bounds it)
    ss.append(s)
time.sleep(1)
for s in ss:
    s.setblocking(False)
    try:
        if s.recv(200).startswith(b"error: too many control clients"):
            refused += 1
    except BlockingIOError:
        pass
print(refused)
sys.stdout.flush()
time.sleep(1.5)  # the shell counts the threads meanwhile
for s in ss:
    s.close()
PYEOF
idle=$!
sleep 1.8
during=$(threads)
wait "$idle"
PY_OUT=$(cat "$T/idle.out")
expect_eq "150 idle control clients: refused with one line" 86 "$PY_OUT"
[ "$during" -le $((before + 8)) ] && ok "threads $before -> $during with 150 idle clients" ||
  not_ok "threads $before -> $during with 150 idle clients (a thread per client?)"
ctl list >/dev/null && ok "control answers after the idle clients left" || not_ok "control dead after idle clients"
stop

# RLIMIT_NOFILE 128: 150 idle control clients must not lock NBD clients out
start --nofile=128
timeout 20 $PY - "$CTL" <<'PYEOF' &
import socket, sys, time
ss = []
for i in range(150):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); ss.append(s)
    except OSError:
        pass
time.sleep(4)
PYEOF
hold=$!
sleep 1.5
nbd_ok=0
for _ in 1 2 3; do timeout 5 nbdinfo --size "$(uri "")" >/dev/null 2>&1 && nbd_ok=$((nbd_ok + 1)); done
expect_eq "NBD clients served beside 150 idle control clients at RLIMIT_NOFILE 128" 3 "$nbd_ok"
wait "$hold"

# --- 4. a stale control socket is replaced, a live one refused ---
kill -KILL "$PID"
wait "$PID" 2>/dev/null
PID=
[ -S "$CTL" ] && ok "a crash leaves the socket" || not_ok "no stale socket to test with"
rm -f "$SOCK"
start
ctl list >/dev/null 2>&1 && ok "restart over a stale control socket" || not_ok "restart over a stale socket: $(tail -3 "$T/server.log")"
if [ "$FE" = server ]; then
  out=$(timeout 10 "$SERVER" -f --unix "$T/other.sock" --control "$CTL" 2>&1)
  rc=$?
else
  # shellcheck disable=SC2086 # VAR=value words on purpose
  out=$(env ${RNULL_NBDKIT_ENV:-} timeout 10 nbdkit -f -U "$T/other.sock" "$SERVER" control="$CTL" 2>&1)
  rc=$?
fi
[ $rc -ne 0 ] && grep -q "another server is listening" <<<"$out" && ok "a live control socket is refused: $out" ||
  not_ok "live control socket: rc=$rc $out"
ctl list >/dev/null 2>&1 && ok "the first server still answers" || not_ok "the first server lost its socket"
# (last: the old code never answers again after it)
ctl create d size=16M >/dev/null || not_ok "create d"
# --- 1. files a key names: never read under the registry lock ---
mkfifo "$T/fifo"
for f in "$T/fifo" /dev/zero; do
  ( ctl set d latency=hist:"$f" >"$T/set.out" 2>&1; echo $? >"$T/set.rc" ) &
  bg=$!
  sleep 0.5
  out=$(timeout 3 "$CTLBIN" --control "$CTL" list 2>&1)
  grep -q '^d ' <<<"$out" && ok "list answered while setting hist:$f" || not_ok "list blocked while setting hist:$f: $out"
  timeout 3 nbdinfo --size "$(uri d)" >/dev/null 2>&1 && ok "NBD served while setting hist:$f" ||
    not_ok "NBD blocked while setting hist:$f"
  for _ in $(seq 30); do [ -s "$T/set.rc" ] && break; sleep 0.1; done
  [ -s "$T/set.rc" ] || { kill "$bg" 2>/dev/null; not_ok "set latency=hist:$f did not return"; }
  wait "$bg" 2>/dev/null
  if [ "$(cat "$T/set.rc" 2>/dev/null)" = 1 ] && grep -q "latency=hist:$f.*not a regular file" "$T/set.out"; then
    ok "hist:$f refused naming the key: $(cat "$T/set.out")"
  else not_ok "hist:$f: rc=$(cat "$T/set.rc" 2>/dev/null) $(cat "$T/set.out")"; fi
  rm -f "$T/set.rc" "$T/set.out"
done
printf '100 1\n200 1\n' >"$T/hist"
ctl set d latency=hist:"$T/hist" >/dev/null && ok "a regular hist file is accepted" || not_ok "hist file refused"
ctl power d off >/dev/null && ctl power d on >/dev/null && ok "power on reads the hist file again" ||
  not_ok "power cycle with a hist file"

stop

# --- rnull-server's flags for the limits: --disk-memory, --control-clients ---
if [ "$FE" = server ]; then
  rm -f "$SOCK"
  "$SERVER" -f --unix "$SOCK" --control "$CTL" --disk-memory 1M --control-clients 2 \
    --control-idle-timeout 30 size=64M >>"$T/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do [ -S "$CTL" ] && ctl list >/dev/null 2>&1 && break; sleep 0.1; done
  out=$(ctl create big submit_queues=8 hw_queue_depth=4096 2>&1)
  grep -q "memory budget has .* of 1.0 MiB in use" <<<"$out" && ok "--disk-memory 1M refuses a large disk: $out" ||
    not_ok "--disk-memory: $out"
  sleep 3 | timeout 5 socat - UNIX-CONNECT:"$CTL" >/dev/null 2>&1 & # two idle clients
  h1=$!
  sleep 3 | timeout 5 socat - UNIX-CONNECT:"$CTL" >/dev/null 2>&1 &
  h2=$!
  sleep 0.5
  out=$(timeout 5 /usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(3)
print(s.recv(200).decode(errors="replace"))' "$CTL" 2>&1)
  grep -q "too many control clients (at most 2)" <<<"$out" && ok "--control-clients 2: the third is refused" ||
    not_ok "--control-clients 2: $out"
  wait "$h1" "$h2" 2>/dev/null
  stop
fi
checks_summary
