# Shared by the shell tests that drive one front end through its control
# socket and libnbd's Python bindings (server-crash.sh, server-hold.sh,
# server-log-writes.sh). The caller sets FE (server|plugin), SERVER (the
# rnull-server binary or rnull.so), CTLBIN (rnull-ctl) and T (its temp dir),
# sources frontends.sh, then this. PY must have the nbd module.
PY=/usr/bin/python3
CTL=$T/control
SOCK=$T/nbd.sock

ctl() { timeout 60 "$CTLBIN" --control "$CTL" "$@"; }

# expect_err DESCRIPTION PATTERN COMMAND...: the control command fails with
# a message matching PATTERN.
expect_err() {
  local d=$1 pat=$2 out rc
  shift 2
  out=$(ctl "$@" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && grep -qE -- "$pat" <<<"$out"; then ok "$d: $out"; else not_ok "$d: rc=$rc '$out' !~ /$pat/"; fi
}

# nbd DISK PYTHON [ARGS...]: run PYTHON with h connected to DISK (h.pwrite,
# h.pread...); ARGS as args (sys.argv[4:]).
nbd() {
  timeout 60 $PY - "$SOCK" "$@" <<'PYEOF'
import sys, time, nbd
sock, name, code = sys.argv[1:4]
args = sys.argv[4:]
h = nbd.NBD()
h.set_export_name(name)
h.connect_unix(sock)
exec(code)
PYEOF
}

# start_ctl_frontend SIZE: the front end on $SOCK and $CTL with a default disk
# of SIZE, into PID, once both sockets are there.
start_ctl_frontend() {
  if [ "$FE" = plugin ]; then
    require_tool nbdkit
    # shellcheck disable=SC2086 # VAR=value words on purpose
    env ${RNULL_NBDKIT_ENV:-} nbdkit -f -U "$SOCK" "$SERVER" control="$CTL" size="$1" \
      >"$T/server.log" 2>&1 &
  else
    "$SERVER" -f --unix "$SOCK" --control "$CTL" size="$1" >"$T/server.log" 2>&1 &
  fi
  PID=$!
  for _ in $(seq 100); do [ -S "$CTL" ] && [ -S "$SOCK" ] && ctl list >/dev/null 2>&1 && break; sleep 0.1; done
  echo "front end: $FE"
}
