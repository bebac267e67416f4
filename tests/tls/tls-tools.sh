#!/usr/bin/env bash
# The usual NBD tools against rnull-server --tls=require with nbds:// URIs:
# nbdinfo, nbdsh and nbdcopy, X.509 (tls-certificates=) and PSK
# (tls-psk-file=, user@), on a Unix socket and 127.0.0.1; a plaintext
# URI is refused.
# Usage: tls-tools.sh RNULL_SERVER MAKE_CERTS
set -euo pipefail
SERVER=$1 MAKE_CERTS=$2
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool nbdinfo nbdcopy nbdsh
make_tmpdir tls-tools
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
bash "$MAKE_CERTS" "$T/c"
C=$T/c
start() { # start ARGS...: server in the background; sets PID, PORT (TCP) when --port 0
  : >"$T/server.log"
  "$SERVER" -f --tls=require --tls-certificates "$C/server" --tls-psk "$C/keys.psk" \
    --export-name disk size=32M memory_backed=1 "$@" >"$T/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 100); do grep -q serving "$T/server.log" && break; sleep 0.05; done
  PORT=$(sed -n 's/.* port \([0-9]*\).*/\1/p' "$T/server.log")
}
stop() {
  kill -TERM "$PID"
  wait "$PID" && rc=0 || rc=$?
  PID=
  expect_eq "server exits 0 on SIGTERM" 0 "$rc"
}

start --unix "$T/s.sock"
X="nbds+unix:///disk?socket=$T/s.sock&tls-certificates=$C/client"
P="nbds+unix://alice@/disk?socket=$T/s.sock&tls-psk-file=$C/keys.psk"
expect_eq "nbdinfo X.509 (unix)" 33554432 "$(nbdinfo --size "$X")"
expect_eq "nbdinfo PSK (unix)" 33554432 "$(nbdinfo --size "$P")"
expect_eq "nbdinfo says TLS" 1 "$(nbdinfo "$X" | grep -c 'with TLS')"
expect_eq "plaintext URI refused" refused \
  "$(nbdinfo --size "nbd+unix:///disk?socket=$T/s.sock" >/dev/null 2>&1 || echo refused)"
head -c 5M /dev/urandom >"$T/src"
truncate -s 32M "$T/src"
nbdcopy "$T/src" "$X"
nbdcopy "$P" "$T/back"
expect_eq "nbdcopy file -> X.509 -> PSK -> file" same "$(cmp -s "$T/src" "$T/back" && echo same || echo differ)"
cat >"$T/sh.py" <<PY
h.set_uri_allow_local_file(True)
h.connect_uri("$P")
h.pwrite(b"\xa5" * 65536, 1 << 20)
assert h.pread(65536, 1 << 20) == b"\xa5" * 65536
assert h.get_tls_negotiated()
print("ok")
PY
# nbdsh is "python3 -m nbd" with the python3 first in PATH, which may lack
# the module: run it with the system one
out=$(/usr/bin/python3 -m nbd -c "$(cat "$T/sh.py")")
expect_eq "nbdsh PSK pwrite/pread" ok "$out"
stop

# (Not ::1: libnbd 1.14 sends an IPv6 literal as TLS server name, which
# GnuTLS servers, nbdkit's too, refuse; qemu-img reaches ::1 in tls-qemu.sh.)
for addr in 127.0.0.1; do
  start --bind "$addr" --port 0
  host=localhost
  expect_eq "nbdinfo X.509 over TCP $addr" 33554432 \
    "$(nbdinfo --size "nbds://$host:$PORT/disk?tls-certificates=$C/client" 2>&1 || true)"
  expect_eq "nbdinfo PSK over TCP $addr" 33554432 \
    "$(nbdinfo --size "nbds://alice@$host:$PORT/disk?tls-psk-file=$C/keys.psk" 2>&1 || true)"
  expect_eq "no bind warning on loopback $addr" 0 "$(grep -c warning "$T/server.log" || true)"
  stop
done
checks_summary
