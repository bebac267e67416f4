# Shared by the packaging tests that start servers (sourced, not run).
fail=0
bad() { echo "FAIL: $*"; fail=1; }
# Wait for a process we started, at most 20 s (then SIGKILL it and ALSO, a
# process under it): its status.
wait_bounded() { # PID [ALSO]
  local p=$1
  for _ in $(seq 200); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$p" 2>/dev/null; then
    echo "FAIL: process $p still running 20 s after SIGTERM: killed" >&2
    kill -KILL "$p" ${2:+"$2"} 2>/dev/null
  fi
  wait "$p"
}
