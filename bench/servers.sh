# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which uses the arrays
# Sourced by bench/run: start and stop the servers under test.
# Every server serves one Unix socket in $BENCH_TMP; we record each PID we
# start and stop only those PIDs (never by name).

# name -> pid of servers we started
declare -A SERVER_PID=()
# The order of the rows in every table. ceiling: bench/ceiling.c, the least a
# server can do (the yardstick); rnull-server-off: --poll off; rnull-server-50:
# a fixed 50 µs window, never backing off (as the ceiling); the -13 ones
# run from a Debian 13 chroot (the peers of today), the others are Debian 12's.
SERVERS=(ceiling rnull-server rnull-server-off rnull-server-50 plugin nbdkit-null qemu-nbd nbdkit-null-13 qemu-nbd-13)
# For bench/ab only, before vs after a change: the same front ends built from
# another commit (RNULL_SERVER_BASE, RNULL_PLUGIN_BASE: a rnull-server and an
# rnull.so built elsewhere), run with the same arguments.
BASE_SERVERS=(rnull-server-base plugin-base)

# Debian 13 (trixie: nbdkit 1.42, qemu-nbd 10, fio 3.39, libnbd 1.22) as a
# chroot, the one tests/newest/ builds. Its programs see $BENCH_TMP only if
# $BENCH_TMP lives inside it (bench_tmp_dir below puts it there).
NEWEST_ROOT=${RNULL_TRIXIE_DIR:-/var/cache/rnull/trixie}
newest_ok() {
  [ "$(id -u)" = 0 ] && [ -x "$NEWEST_ROOT/usr/bin/fio" ] && [ -x "$NEWEST_ROOT/usr/bin/nbdkit" ] &&
    [ -x "$NEWEST_ROOT/usr/bin/qemu-nbd" ] && case ${BENCH_TMP:-} in "$NEWEST_ROOT"/*) true ;; *) false ;; esac
}
newest_why() {
  if [ "$(id -u)" != 0 ]; then echo "needs root (chroot)"
  else echo "no Debian 13 chroot at $NEWEST_ROOT (RNULL_TRIXIE_DIR; tests/newest/trixie-chroot.sh builds it)"; fi
}
# bench_tmp_dir PREFIX: a temp dir, inside the chroot when there is one.
bench_tmp_dir() {
  if [ "$(id -u)" = 0 ] && [ -d "$NEWEST_ROOT/tmp" ]; then
    mktemp -d "$NEWEST_ROOT/tmp/$1.XXXXXX"
  else
    mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX"
  fi
}
# in_newest PATH: the path as the chroot sees it
in_newest() { echo "${1#"$NEWEST_ROOT"}"; }

# Where a server's socket lives.
server_socket() { echo "$BENCH_TMP/$1.sock"; }
server_uri() { echo "nbd+unix:///?socket=$(server_socket "$1")"; }
# server_label NAME: what the tables call it
server_label() {
  case $1 in
    ceiling) echo "ceiling (bench/ceiling.c, 50 µs poll)" ;;
    rnull-server) echo "rnull-server (--poll adaptive)" ;;
    rnull-server-off) echo "rnull-server --poll off" ;;
    rnull-server-50) echo "rnull-server --poll 50 (fixed)" ;;
    plugin) echo "nbdkit 1.32 + rnull.so" ;;
    rnull-server-base) echo "rnull-server of RNULL_SERVER_BASE" ;;
    plugin-base) echo "nbdkit 1.32 + rnull.so of RNULL_PLUGIN_BASE" ;;
    nbdkit-null) echo "nbdkit 1.32 null" ;;
    qemu-nbd) echo "qemu-nbd 7.2 null-co" ;;
    nbdkit-null-13) echo "nbdkit 1.42 null (Debian 13)" ;;
    qemu-nbd-13) echo "qemu-nbd 10.0 null-co (Debian 13)" ;;
    *) echo "$1" ;;
  esac
}

# server_cmd NAME SIZE: print the command line (one word a line), or nothing
# if the server cannot run on this machine.
server_cmd() {
  local name=$1 size=$2 sock
  sock=$(server_socket "$name")
  case $name in
    ceiling)
      [ -x "${RNULL_CEILING:-}" ] || return 0
      printf '%s\n' "$RNULL_CEILING" --unix "$sock" --size "$(size_bytes "$size")" --poll 50 ;;
    rnull-server)
      [ -x "$RNULL_SERVER" ] || return 0
      # shellcheck disable=SC2086 # RNULL_ARGS is a list of key=value words
      printf '%s\n' "$RNULL_SERVER" --unix "$sock" --foreground "size=$size" $RNULL_ARGS ;;
    rnull-server-off)
      [ -x "$RNULL_SERVER" ] || return 0
      # shellcheck disable=SC2086
      printf '%s\n' "$RNULL_SERVER" --unix "$sock" --foreground --poll off "size=$size" $RNULL_ARGS ;;
    rnull-server-50)
      [ -x "$RNULL_SERVER" ] || return 0
      # shellcheck disable=SC2086
      printf '%s\n' "$RNULL_SERVER" --unix "$sock" --foreground --poll 50 "size=$size" $RNULL_ARGS ;;
    rnull-server-base)
      [ -x "${RNULL_SERVER_BASE:-}" ] || return 0
      # shellcheck disable=SC2086
      printf '%s\n' "$RNULL_SERVER_BASE" --unix "$sock" --foreground "size=$size" $RNULL_ARGS ;;
    plugin-base)
      [ -f "${RNULL_PLUGIN_BASE:-}" ] && command -v nbdkit >/dev/null || return 0
      # shellcheck disable=SC2086
      printf '%s\n' nbdkit -f -U "$sock" "$RNULL_PLUGIN_BASE" "size=$size" $RNULL_ARGS ;;
    nbdkit-null-13)
      newest_ok || return 0
      printf '%s\n' chroot "$NEWEST_ROOT" nbdkit -f -U "$(in_newest "$sock")" null "size=$size" ;;
    qemu-nbd-13)
      newest_ok || return 0
      printf '%s\n' chroot "$NEWEST_ROOT" qemu-nbd --image-opts \
        "driver=null-co,size=$(size_bytes "$size"),read-zeroes=on" --socket "$(in_newest "$sock")" -t -e 8 ;;
    plugin)
      [ -f "$RNULL_PLUGIN" ] && command -v nbdkit >/dev/null || return 0
      # shellcheck disable=SC2086
      printf '%s\n' nbdkit -f -U "$sock" "$RNULL_PLUGIN" "size=$size" $RNULL_ARGS ;;
    nbdkit-null)
      command -v nbdkit >/dev/null || return 0
      printf '%s\n' nbdkit -f -U "$sock" null "size=$size" ;;
    qemu-nbd)
      command -v qemu-nbd >/dev/null || return 0
      # -t: keep serving after a client leaves; -e 8: several connections at
      # once (fio numjobs=2, nbdcopy's multi-conn).
      printf '%s\n' qemu-nbd --image-opts "driver=null-co,size=$(size_bytes "$size"),read-zeroes=on" \
        --socket "$sock" -t -e 8 ;;
  esac
}

# size_bytes 4G -> 4294967296 (qemu's null-co wants plain bytes).
size_bytes() {
  local s=$1 n mult=1
  n=${s%[KkMmGgTtPpEe]}
  case ${s: -1} in
    K|k) mult=$((1 << 10)) ;; M|m) mult=$((1 << 20)) ;; G|g) mult=$((1 << 30)) ;;
    T|t) mult=$((1 << 40)) ;; P|p) mult=$((1 << 50)) ;; E|e) mult=$((1 << 60)) ;;
  esac
  echo $((n * mult))
}

# server_start NAME SIZE: start it, wait until it answers. Returns 1 (and
# logs why) if the server is missing or does not come up.
server_start() {
  local name=$1 size=$2 cmd=() pid i
  mapfile -t cmd < <(server_cmd "$name" "$size")
  if [ ${#cmd[@]} -eq 0 ]; then
    case $name in
      *-13) log "skip $name: $(newest_why)" ;;
      *) log "skip $name: not built / not installed" ;;
    esac
    return 1
  fi
  rm -f "$(server_socket "$name")"
  "${cmd[@]}" >"$BENCH_TMP/$name.log" 2>&1 </dev/null &
  pid=$!
  SERVER_PID[$name]=$pid
  # Up to ~10 s for the socket to answer a handshake.
  for ((i = 0; i < 100; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "skip $name: exited at start-up: $(tail -n 3 "$BENCH_TMP/$name.log" | tr '\n' ' ')"
      wait "$pid" 2>/dev/null
      unset 'SERVER_PID[$name]'
      return 1
    fi
    if [ -S "$(server_socket "$name")" ] &&
       nbdinfo --size "$(server_uri "$name")" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  log "skip $name: no answer on $(server_socket "$name") after 10 s"
  server_stop "$name"
  return 1
}

# server_stop NAME: SIGTERM the PID we started, SIGKILL after 5 s.
server_stop() {
  local name=$1 pid i
  pid=${SERVER_PID[$name]:-}
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  unset 'SERVER_PID[$name]'
}

servers_stop_all() {
  local name
  for name in "${!SERVER_PID[@]}"; do server_stop "$name"; done
}

# server_rss_kib NAME FIELD: VmRSS or VmHWM of the server's process, in KiB.
server_rss_kib() {
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/${SERVER_PID[$1]}/status"
}

# server_ctx_begin NAME FILE / server_ctx_end: count the server's context
# switches (voluntary and involuntary: every time one of its threads stops
# running) between the two calls into FILE (perf stat -x, format). perf
# attaches to every thread the server has, follows threads created later and
# adds in the counts of those that exit, which /proc cannot do (nbdkit's and
# the ceiling's per-connection threads exit with the connection). Without
# perf, or without permission, FILE stays absent and the column shows —.
CTX_PID=""
server_ctx_begin() {
  local pid=${SERVER_PID[$1]:-}
  CTX_PID=""
  [ -n "$pid" ] && command -v perf >/dev/null || return 1
  rm -f "$2"
  perf stat -x, -e context-switches -p "$pid" -o "$2" 2>/dev/null &
  CTX_PID=$!
  # (perf writes FILE only when it ends: give it a moment to attach)
  sleep 0.2
  kill -0 "$CTX_PID" 2>/dev/null && return 0
  wait "$CTX_PID" 2>/dev/null
  CTX_PID=""
  rm -f "$2"
  return 1
}
server_ctx_end() {
  [ -n "$CTX_PID" ] || return 0
  kill -INT "$CTX_PID" 2>/dev/null
  wait "$CTX_PID" 2>/dev/null
  CTX_PID=""
}

# server_cpu_ticks NAME: user + system CPU time of the server so far, in
# clock ticks (getconf CLK_TCK), counting threads that already exited.
server_cpu_ticks() {
  local stat rest
  read -r stat <"/proc/${SERVER_PID[$1]}/stat" || return 1
  rest=${stat##*) } # fields from 3 (state) on; comm may hold spaces
  # shellcheck disable=SC2086 # split into fields on purpose
  set -- $rest
  echo $((${12} + ${13})) # utime, stime: fields 14 and 15
}
