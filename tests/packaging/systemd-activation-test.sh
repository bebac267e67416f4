#!/usr/bin/env bash
# The units' ExecStart lines really serve when socket-activated: each is run
# as systemd would (the argument variables expanded, %i substituted, the
# listening socket passed in LISTEN_FDS by systemd-socket-activate, on a Unix
# socket in a temp dir), with the installed example option files; a client
# writes and reads back data, SIGUSR1 prints statistics, SIGTERM exits 0.
# Under strace, every system call the server makes must be allowed by the
# units' SystemCallFilter (@system-service minus @privileged).
# Usage: systemd-activation-test.sh UNITDIR SERVER EXAMPLES_DIR
set -u # no pipefail: "... | grep -q" may end a pipe early (SIGPIPE)
unitdir=$1 server=$2 examples=$3
for tool in systemd-socket-activate nbdinfo qemu-io; do
  command -v $tool >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnull-activate.XXXXXX") || exit 1
pid='' tracer=''
cleanup() {
  [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
  [ -n "$tracer" ] && kill -KILL "$tracer" 2>/dev/null && wait "$tracer" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
. "$(dirname "$0")/proc.sh" # fail, bad, wait_bounded
use_strace=0
command -v strace >/dev/null && use_strace=1
[ $use_strace = 1 ] || echo "note: strace not installed: system calls not checked against the filter"
if [ "${RNULL_SANITIZED:-0}" = 1 ]; then
  use_strace=0
  echo "note: sanitizer build: system calls not checked against the filter"
fi

# Syscall names a filter set allows, groups expanded.
expand() {
  systemd-analyze syscall-filter "$1" 2>/dev/null | tail -n +2 | sed 's/^ *//' | grep -v '^#' |
    while read -r s; do
      [ -z "$s" ] && continue
      if [[ $s == @* ]]; then expand "$s"; else echo "$s"; fi
    done
}
if [ $use_strace = 1 ] && command -v systemd-analyze >/dev/null; then
  expand @system-service | sort -u >"$tmp/service.list"
  expand @privileged | sort -u >"$tmp/privileged.list"
  comm -23 "$tmp/service.list" "$tmp/privileged.list" >"$tmp/allowed.list"
  [ "$(wc -l <"$tmp/allowed.list")" -gt 100 ] || { bad "could not expand @system-service"; use_strace=0; }
else
  use_strace=0
fi

# run UNIT INSTANCE EXPECTED_SIZE READ_BACK: serve as the unit would, check,
# stop. READ_BACK is the byte a read after a write of 0x5a returns (0 when
# the disk is the null store).
run() {
  local unit=$1 inst=$2 want=$3 back=$4 sock=$tmp/$2.sock line
  line=$(sed -n 's/^ExecStart=//p' "$unitdir/$unit")
  [ -n "$line" ] || { bad "$unit: no ExecStart"; return; }
  line=${line//%i/$inst}
  line=${line//\/etc\/rnull\//$tmp\/etc\/}
  # shellcheck disable=SC2086 # systemd splits $VAR into words, as eval does
  eval "set -- $line"
  shift # the installed path: run the built server instead
  echo "$unit as: rnull-server $*"
  if [ $use_strace = 1 ]; then
    strace -f -qq -o "$tmp/$inst.trace" systemd-socket-activate -l "$sock" "$server" "$@" \
      2>"$tmp/$inst.log" &
    tracer=$!
  else
    systemd-socket-activate -l "$sock" "$server" "$@" 2>"$tmp/$inst.log" &
    pid=$!
  fi
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
  local uri="nbd+unix:///?socket=$sock" size
  size=$(timeout 30 nbdinfo --size "$uri" 2>&1) # the first connection starts the server
  [ -n "$tracer" ] && pid=$(pgrep -P "$tracer")
  [ "$size" = "$want" ] || bad "$unit: size '$size', expected $want: $(cat "$tmp/$inst.log")"
  timeout 30 qemu-io -f raw -c 'write -P 0x5a 1M 64k' -c "read -P $back 1M 64k" "$uri" >"$tmp/qemu-io.log" 2>&1 &&
    ! grep -q 'failed' "$tmp/qemu-io.log" ||
    bad "$unit: write then read back failed: $(cat "$tmp/qemu-io.log")"
  if [ -n "$pid" ]; then
    kill -USR1 "$pid"
    for _ in $(seq 50); do grep -q statistics "$tmp/$inst.log" && break; sleep 0.1; done
    grep -q statistics "$tmp/$inst.log" || bad "$unit: SIGUSR1 printed no statistics"
    kill -TERM "$pid"
  else
    bad "$unit: no server process"
    [ -n "$tracer" ] && kill -KILL "$tracer"
  fi
  local rc
  if [ -n "$tracer" ]; then wait_bounded "$tracer" "$pid"; rc=$?; else wait_bounded "$pid"; rc=$?; fi
  pid='' tracer=''
  [ $rc = 0 ] || bad "$unit: exit status $rc after SIGTERM: $(cat "$tmp/$inst.log")"
  grep -q 'inherited socket' "$tmp/$inst.log" || bad "$unit: server did not take the socket from systemd"
  if [ $use_strace = 1 ]; then
    # The server's calls: everything after it is exec'ed.
    sed -n "\|execve(\"$server\"|,\$p" "$tmp/$inst.trace" | sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' |
      sort -u >"$tmp/$inst.calls"
    [ -s "$tmp/$inst.calls" ] || bad "$unit: no system calls traced"
    local denied
    denied=$(comm -23 "$tmp/$inst.calls" "$tmp/allowed.list" | grep -vx execve | tr '\n' ' ')
    [ -z "$denied" ] || bad "$unit: system calls outside SystemCallFilter: $denied"
    echo "$unit: $(wc -l <"$tmp/$inst.calls") distinct system calls, all allowed by the filter"
  fi
}

# rnull-server.service with the example's (commented) RNULL_SERVER_ARGS.
mkdir -p "$tmp/run" "$tmp/etc"
RNULL_SERVER_ARGS=$(sed -n 's/^#RNULL_SERVER_ARGS="\(.*\)"$/\1/p' "$examples/rnull-server.default")
RNULL_SERVER_ARGS=${RNULL_SERVER_ARGS//\/run\/rnull-server\//$tmp/run/}
run rnull-server.service main 17179869184 0x5a
[ -s "$tmp/run/stats.json" ] && grep -q '{' "$tmp/run/stats.json" ||
  bad "rnull-server.service: --stats-file in the runtime directory not written"
# ... and with the shipped (empty) RNULL_SERVER_ARGS: the default disk.
. "$examples/rnull-server.default"
run rnull-server.service default 4294967296 0

# rnull-server@disk1.service with the example disk1.conf.
cp "$examples/disk.conf" "$tmp/etc/disk1.conf"
run rnull-server@.service disk1 1073741824 0x5a

[ $fail = 0 ] && echo "PASS: the units' command lines serve under socket activation"
exit $fail
