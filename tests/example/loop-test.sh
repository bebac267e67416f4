#!/usr/bin/env bash
# The example file-backed driver (examples/rnull-loop.c) served by the NBD
# server library, driven by qemu-io, nbdcopy, nbdinfo and fio (nbd engine,
# crc32c verify). Each check also looks at the image file itself: the data
# must land there. Two hw queues, two workers and at most 4 requests at the
# workers, so queue_rq runs out of room and says RNULL_STS_RESOURCE (the
# requeues counter of the stats file proves it happened).
# Usage: loop-test.sh RNULL_LOOP
set -euo pipefail
LOOP=$1
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool nbdinfo nbdcopy qemu-io fio jq cmp
make_tmpdir loop-test
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
# bytes LEN OFFSET FILE: the bytes of FILE there, as hex
bytes() { od -An -tx1 -v -j "$2" -N "$1" "$3" | tr -d ' \n'; }
repeat() { printf "%0.s$1" $(seq "$2"); } # repeat HEX COUNT

IMG=$T/disk.img
truncate -s 64M "$IMG"

# Only the core's, its own and the front ends' keys: the null driver's are
# refused, naming the key and whose it is (they used to be taken and ignored).
for kv in mbps=100 badblocks=0-7 latency=fixed:1ms; do
  rc=0
  out=$("$LOOP" "$IMG" --unix "$T/no.sock" "$kv" 2>&1) || rc=$?
  expect_eq "$kv refused" 1 "$rc"
  expect_eq "$kv: the message names key, driver and owner" 1 \
    "$(grep -c "^rnull-loop: ${kv}: not a key of the core, the loop driver, the front end: it is the null driver's" <<<"$out")"
done
SOCK=$T/s.sock
URI="nbd+unix:///?socket=$SOCK"
"$LOOP" "$IMG" --unix "$SOCK" --workers 2 --queued 4 submit_queues=2 hw_queue_depth=64 \
  stats_file="$T/stats.json" >"$T/loop.log" 2>&1 &
PID=$!
for _ in $(seq 100); do nbdinfo --size "$URI" >/dev/null 2>&1 && break; sleep 0.1; done
expect_eq "size is the image's" 67108864 "$(nbdinfo --size "$URI")"

# qemu-io: patterns at several offsets, read back through NBD and from the file.
qemu-io -f raw "$URI" -c 'write -P 0x5a 0 64k' -c 'write -P 0xc3 1M 4k' \
  -c 'aio_write -P 0x11 8M 128k' -c 'aio_write -P 0x22 9M 128k' -c 'aio_write -P 0x33 10M 128k' \
  -c 'aio_flush' -c 'write -z 1M 4k' -c 'write -P 0x7e 60M 1M' \
  -c 'read -P 0x5a 0 64k' -c 'read -P 0 1M 4k' -c 'read -P 0x22 9M 128k' \
  -c 'read -P 0x7e 60M 1M' -c 'read -P 0 2M 4k' >"$T/qio.out" 2>&1 || true
expect_eq "qemu-io patterns read back" 0 "$(grep -c -i 'fail\|mismatch\|error' "$T/qio.out" || true)"
expect_eq "image: 0x5a at 0" "$(repeat 5a 16)" "$(bytes 16 65520 "$IMG")"
expect_eq "image: 0x11 at 8M" "$(repeat 11 16)" "$(bytes 16 8388608 "$IMG")"
expect_eq "image: 0x33 at 10M+128k-16" "$(repeat 33 16)" "$(bytes 16 $((10 * 1048576 + 131056)) "$IMG")"
expect_eq "image: write zeroes at 1M" "$(repeat 00 16)" "$(bytes 16 1048576 "$IMG")"
expect_eq "image: 0x7e at 60M" "$(repeat 7e 16)" "$(bytes 16 $((61 * 1048576 - 16)) "$IMG")"
expect_eq "block status: data at 0, hole after" 1 \
  "$(nbdinfo --map "$URI" | awk '$1==0 && $2==65536 && $3==0' | wc -l)"

# trim punches a hole in the file
qemu-io -f raw "$URI" -c 'discard 60M 1M' -c 'read -P 0 60M 1M' >"$T/trim.out" 2>&1 || true
expect_eq "trim reads back zeros" 0 "$(grep -c -i 'fail\|mismatch\|error' "$T/trim.out" || true)"
expect_eq "image: trimmed range is zeros" "$(repeat 00 16)" "$(bytes 16 $((60 * 1048576)) "$IMG")"

# nbdcopy: a random file in, the disk out, and the image itself
head -c 24M /dev/urandom >"$T/src"
truncate -s 64M "$T/src"
nbdcopy --connections=2 --requests=16 "$T/src" "$URI"
nbdcopy "$URI" "$T/back"
expect_eq "nbdcopy file -> disk -> file" same "$(cmp -s "$T/src" "$T/back" && echo same || echo differ)"
expect_eq "nbdcopy: the image file is the source" same "$(cmp -s "$T/src" "$IMG" && echo same || echo differ)"

# fio, crc32c verify, random writes and reads at depth 32 (out of order)
fio --name=verify --ioengine=nbd --uri="$URI" --rw=randwrite --bsrange=4k-64k --size=16m \
  --offset=32m --iodepth=32 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
  --randrepeat=1 --output="$T/fio.out" && rc=0 || rc=$?
expect_eq "fio randwrite + crc32c verify" 0 "$rc"
[ "$rc" = 0 ] || cat "$T/fio.out"
# fio's verify headers (magic 0xacca) are in the image, so the data is too
expect_eq "image: fio's verify blocks landed" yes \
  "$(od -An -tx2 -v -j $((32 * 1048576)) -N 4 "$IMG" | grep -q acca && echo yes || echo no)"

kill -TERM "$PID"
wait "$PID" && rc=0 || rc=$?
PID=
expect_eq "SIGTERM: clean exit" 0 "$rc"
# the driver's RNULL_STS_RESOURCE path was taken (the stats file is
# written a last time at exit)
req=$(jq '.total.requeues' "$T/stats.json")
expect_eq "workers busy: requests requeued (RNULL_STS_RESOURCE)" yes "$([ "$req" -gt 0 ] && echo yes || echo no)"
expect_eq "no request ended with an error" 0 "$(jq '.total.errors' "$T/stats.json")"
expect_eq "announced itself" 1 "$(grep -c '^rnull-loop: serving' "$T/loop.log")"
[ "$CHECKS_FAILED" = 0 ] || cat "$T/loop.log"
checks_summary
