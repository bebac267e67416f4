#!/usr/bin/env bash
# rnull-server with the usual NBD tools over TCP and a named export (the
# tests/interop suite covers them on Unix sockets): nbdinfo (size, block
# sizes, flags, map), qemu-img info, qemu-io pattern write/read on a
# memory-backed disk, nbdcopy of a file into it and back.
# Usage: server-interop.sh RNULL_SERVER
set -euo pipefail
SERVER=$1
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool nbdinfo nbdcopy qemu-img qemu-io python3
make_tmpdir srv-interop
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT

PORT=$(free_tcp_port 127.0.0.1)
"$SERVER" -f --bind 127.0.0.1 --port "$PORT" --export-name disk1 \
  size=32M memory_backed=1 blocksize=512 physical_blocksize=4096 max_transfer=4M \
  >"$T/server.log" 2>&1 &
PID=$!
URI="nbd://127.0.0.1:$PORT/disk1"
for _ in $(seq 100); do nbdinfo --size "$URI" >/dev/null 2>&1 && break; sleep 0.1; done

expect_eq "nbdinfo size" 33554432 "$(nbdinfo --size "$URI")"
info=$(nbdinfo "$URI")
expect_eq "block_size_minimum" 1 "$(grep -c 'block_size_minimum: 512$' <<<"$info")"
expect_eq "block_size_preferred" 1 "$(grep -c 'block_size_preferred: 4096$' <<<"$info")"
expect_eq "block_size_maximum" 1 "$(grep -c 'block_size_maximum: 4194304$' <<<"$info")"
expect_eq "can_multi_conn" 1 "$(grep -c 'can_multi_conn: true' <<<"$info")"
expect_eq "base:allocation offered" 1 "$(grep -c 'base:allocation' <<<"$info")"
expect_eq "unknown export refused" 1 "$(nbdinfo --size "nbd://127.0.0.1:$PORT/other" >/dev/null 2>&1 || echo 1)"
expect_eq "qemu-img info virtual size" 1 \
  "$(qemu-img info "$URI" | grep -c 'virtual size: 32 MiB (33554432 bytes)')"
qemu-io -f raw -c 'write -P 0xa5 1M 256k' -c 'read -P 0xa5 1M 256k' -c 'read -P 0 0 1M' \
  "$URI" >"$T/qio.out" 2>&1 || true
expect_eq "qemu-io pattern round trip" 0 "$(grep -c -i 'fail\|mismatch\|error' "$T/qio.out" || true)"
expect_eq "nbdinfo --map shows the written data" 1 \
  "$(nbdinfo --map "$URI" | awk '$1==1048576 && $2==262144 && $3==0' | wc -l)"
head -c 3M /dev/urandom >"$T/src"
truncate -s 32M "$T/src"
nbdcopy "$T/src" "$URI"
nbdcopy "$URI" "$T/back"
expect_eq "nbdcopy file -> server -> file" same "$(cmp -s "$T/src" "$T/back" && echo same || echo differ)"
kill -TERM "$PID"
wait "$PID" && rc=0 || rc=$?
PID=
expect_eq "server exits 0 on SIGTERM" 0 "$rc"
checks_summary
