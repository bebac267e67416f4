# shellcheck shell=bash disable=SC2034
# Shared by the shell tests (source it; bash): interop, netns, kernel, and
# the server, tls and example scripts.
# Starts and stops rnull's two front ends, and nothing else: every process a
# test starts is recorded here and stopped by PID in frontend_cleanup (or, in
# tests that keep their one process in PID, in test_cleanup).
#
# The front-end helpers (require_frontend, frontend_argv,
# start_frontend_unix) need RNULL_BUILD_DIR (the CMake binary dir holding
# rnull.so, rnull-server, rnull-attach); the rest does not.

if [ -n "${RNULL_BUILD_DIR:-}" ]; then
  RNULL_PLUGIN=$RNULL_BUILD_DIR/rnull.so
  RNULL_SERVER=$RNULL_BUILD_DIR/rnull-server
  RNULL_ATTACH=$RNULL_BUILD_DIR/rnull-attach
fi
FRONTEND_PIDS=()

# skip MESSAGE: CTest counts exit 77 as skipped (SKIP_RETURN_CODE).
skip() {
  echo "SKIP: $*"
  exit 77
}

die() {
  echo "FAIL: $*" >&2
  exit 1
}

# require_frontend plugin|server: skip when its binary is not built.
require_frontend() {
  : "${RNULL_BUILD_DIR:?set RNULL_BUILD_DIR to the build dir}"
  case $1 in
  plugin)
    [ -f "$RNULL_PLUGIN" ] || skip "$RNULL_PLUGIN not built"
    command -v nbdkit >/dev/null || skip "nbdkit not installed"
    ;;
  server) [ -x "$RNULL_SERVER" ] || skip "$RNULL_SERVER not built" ;;
  *) die "unknown front end '$1' (plugin|server)" ;;
  esac
}

require_tool() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || skip "$t not installed (packaging/deps.sh)"
  done
}

# frontend_cmd FE LISTEN... -- KEY=VALUE...: print nothing, set FRONTEND_ARGV.
# LISTEN is "unix PATH" or "tcp ADDR PORT". --threads=1: Debian's nbdkit 1.32
# aborts when a client hangs up with replies queued (raw_send_socket assertion).
FRONTEND_OPTS=()
frontend_argv() {
  : "${RNULL_BUILD_DIR:?set RNULL_BUILD_DIR to the build dir}"
  local fe=$1 kind=$2
  # FRONTEND_OPTS: options both front ends spell alike (--tls=require,
  # --tls-certificates=DIR, --tls-psk=FILE), put where each takes them.
  local o=("${FRONTEND_OPTS[@]}")
  shift 2
  case $fe/$kind in
  plugin/unix) FRONTEND_ARGV=(nbdkit -f --threads=1 "${o[@]}" -U "$1" "$RNULL_PLUGIN") && shift ;;
  plugin/tcp) FRONTEND_ARGV=(nbdkit -f --threads=1 "${o[@]}" -i "$1" -p "$2" "$RNULL_PLUGIN") && shift 2 ;;
  server/unix) FRONTEND_ARGV=("$RNULL_SERVER" --foreground "${o[@]}" --unix "$1") && shift ;;
  server/tcp) FRONTEND_ARGV=("$RNULL_SERVER" --foreground "${o[@]}" --bind "$1" --port "$2") && shift 2 ;;
  *) die "frontend_argv: bad front end/listen '$fe/$kind'" ;;
  esac
  FRONTEND_ARGV+=("$@")
}

# wait_until SECONDS CMD...: poll CMD every 0.1 s (a hang guard, not a timing).
wait_until() {
  local limit=$(($1 * 10)) i=0
  shift
  until "$@"; do
    i=$((i + 1))
    [ $i -lt $limit ] || return 1
    sleep 0.1
  done
}

# unix_listening SOCK: a socket in LISTEN state is bound to SOCK. (The file
# appears at bind(), a moment before listen(): connecting then is refused.)
unix_listening() { ss -Hxl src "$1" 2>/dev/null | grep -q .; }

# start_frontend_unix FE SOCK LOG KEY=VALUE...: serve on a Unix socket, wait
# until it listens; sets FRONTEND_PID.
start_frontend_unix() {
  local fe=$1 sock=$2 log=$3
  shift 3
  frontend_argv "$fe" unix "$sock" "$@"
  "${FRONTEND_ARGV[@]}" >"$log" 2>&1 &
  FRONTEND_PID=$!
  FRONTEND_PIDS+=("$FRONTEND_PID")
  if ! wait_until 20 unix_listening "$sock"; then
    echo "--- $fe log ($log):" >&2
    cat "$log" >&2
    die "$fe did not listen on $sock (command: ${FRONTEND_ARGV[*]})"
  fi
}

# stop_pid PID: TERM, wait up to 10 s, then KILL. Only PIDs we started.
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || {
    wait "$pid" 2>/dev/null
    return 0
  }
  kill -TERM "$pid" 2>/dev/null
  wait_until 10 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

frontend_cleanup() {
  local pid
  for pid in "${FRONTEND_PIDS[@]}"; do
    stop_pid "$pid"
  done
  FRONTEND_PIDS=()
}

# test_cleanup: the EXIT trap of a test: stops the front ends started here
# and $PID when set (a script clears PID once it has waited for it, so a
# reused PID is never signalled), then removes TMPDIR_TEST.
test_cleanup() {
  frontend_cleanup
  [ -z "${PID:-}" ] || stop_pid "$PID"
  PID=
  rm -rf "$TMPDIR_TEST"
}

# free_tcp_port [ADDR]: print a TCP port that is free on ADDR (default
# 127.0.0.1): bind to port 0 and read back what the kernel chose.
free_tcp_port() {
  python3 -c 'import socket, sys
a = sys.argv[1]
s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
s.bind((a, 0))
print(s.getsockname()[1])' "${1:-127.0.0.1}"
}

# Per-check reporting: one line per check, the script fails if any failed.
CHECKS_FAILED=0
CHECKS_PASSED=0
ok() {
  echo "ok   $*"
  CHECKS_PASSED=$((CHECKS_PASSED + 1))
}
not_ok() {
  echo "FAIL $*"
  CHECKS_FAILED=$((CHECKS_FAILED + 1))
}
# expect NAME CMD...: the command must succeed.
expect() {
  local name=$1
  shift
  if "$@" >"$TMPDIR_TEST/expect.out" 2>&1; then
    ok "$name"
  else
    not_ok "$name: '$*' failed:"
    sed 's/^/     /' "$TMPDIR_TEST/expect.out" | head -n 20
  fi
}
# expect_fail NAME CMD...: the command must fail (exit != 0, not a timeout).
expect_fail() {
  local name=$1 rc
  shift
  "$@" >"$TMPDIR_TEST/expect.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ]; then
    ok "$name"
  else
    not_ok "$name: '$*' exited $rc, expected a failure"
    sed 's/^/     /' "$TMPDIR_TEST/expect.out" | head -n 20
  fi
}
# expect_fail_like NAME PATTERN CMD...: fails, and its output matches PATTERN
# (so it failed for the reason the check is about).
expect_fail_like() {
  local name=$1 pat=$2 rc
  shift 2
  "$@" >"$TMPDIR_TEST/expect.out" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qi -- "$pat" "$TMPDIR_TEST/expect.out"; then
    ok "$name"
  else
    not_ok "$name: '$*' exited $rc, expected a failure matching /$pat/"
    sed 's/^/     /' "$TMPDIR_TEST/expect.out" | head -n 20
  fi
}
# expect_eq NAME WANT GOT
expect_eq() {
  if [ "$2" = "$3" ]; then ok "$1 = $2"; else not_ok "$1: want '$2', got '$3'"; fi
}
checks_summary() {
  echo "$CHECKS_PASSED checks passed, $CHECKS_FAILED failed"
  if [ "$CHECKS_FAILED" -gt 0 ]; then
    # The servers' side of the story (logs in the test's temp dir).
    for log in "$TMPDIR_TEST"/*.log; do
      [ -f "$log" ] && echo "--- $(basename "$log"):" && tail -n 20 "$log"
    done
  fi
  [ "$CHECKS_FAILED" -eq 0 ]
}

# make_tmpdir: a private temp dir for sockets and logs (TMPDIR_TEST).
make_tmpdir() {
  TMPDIR_TEST=$(mktemp -d "${TMPDIR:-/tmp}/rnull-$1.XXXXXX") || die "mktemp failed"
}
