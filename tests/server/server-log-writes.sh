#!/usr/bin/env bash
# The write log through NBD (issue 19 item 5): rnull-server --control, a
# memory-backed disk with cache_size and log_writes=; known patterns written
# with libnbd, flush, rnull-ctl mark, more writes (FUA, trim, zeroes) and a
# second flush and mark; the disk's content saved at each mark; then the log
# replayed (tests/tools' reader, written from the format's documentation) to
# each mark gives exactly those bytes; a null-store disk (memory_backed=0)
# logs its writes' data too. `rnull-ctl log` counts the entries;
# SIGTERM closes the log with its end mark; errors: mark without a log, a
# log in a missing directory. xfstests' replay-log is not packaged in
# Debian 12: when a replay-log is on PATH it is run against the log too.
# Both front ends: rnull-server --control, and nbdkit rnull.so control=.
# Usage: server-log-writes.sh server RNULL_SERVER RNULL_CTL REPLAY_TOOL
#        server-log-writes.sh plugin RNULL_PLUGIN_SO RNULL_CTL REPLAY_TOOL
set -uo pipefail
FE=$1
SERVER=$2
CTLBIN=$3
REPLAY=$4
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool timeout cmp
make_tmpdir logw
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
# shellcheck source=../lib/ctl_frontend.sh
. "$(dirname "$0")/../lib/ctl_frontend.sh"
$PY -c 'import nbd' 2>/dev/null || skip "$PY has no nbd module"
# save DISK FILE: the disk's whole content (8 MiB) to FILE
save() { nbd "$1" 'open(args[0], "wb").write(h.pread(8 << 20, 0)); h.shutdown()' "$2"; }
# replay_to MARK IMG: a zero image, the log replayed to MARK
replay_to() {
  rm -f "$2" && truncate -s 8M "$2" && "$REPLAY" --log "$T/log" --replay "$2" --end-mark "$1" >/dev/null
}

start_ctl_frontend 16M

expect "create a logged disk" ctl create w1 size=8M memory_backed=1 cache_size=2M log_writes="$T/log"
expect "writes, flush" nbd w1 '
for i in range(32):
    h.pwrite(bytes([i + 1]) * (4096 * (1 + i % 4)), (i * 37 % 120) * 65536)
h.flush(); h.shutdown()'
expect "mark one" ctl mark w1 one
save w1 "$T/at-one"
expect "FUA, trim, zeroes, writes, flush" nbd w1 '
h.pwrite(b"\xaa" * 8192, 3 * 65536, nbd.CMD_FLAG_FUA)
h.trim(65536, 37 * 65536)
h.zero(16384, 74 * 65536)
for i in range(16):
    h.pwrite(bytes([0x40 + i]) * 4096, (i * 53 % 120) * 65536)
h.flush(); h.shutdown()'
expect "mark two" ctl mark w1 two
save w1 "$T/at-two"
expect "unflushed writes after the mark" nbd w1 'h.pwrite(b"\x77" * 4096, 0); h.shutdown()'
out=$(ctl log w1)
grep -q '^error=none' <<<"$out" && grep -qE '^entries=[1-9]' <<<"$out" &&
  ok "rnull-ctl log: $(tr '\n' ' ' <<<"$out")" || not_ok "rnull-ctl log: '$out'"
# the log is complete up to the marks already: replay while the disk serves
expect "replay to mark one" replay_to one "$T/img1"
expect "the replay to mark one is the disk at mark one" cmp "$T/img1" "$T/at-one"
expect "replay to mark two" replay_to two "$T/img2"
expect "the replay to mark two is the disk at mark two" cmp "$T/img2" "$T/at-two"
if command -v replay-log >/dev/null; then
  rm -f "$T/img3" && truncate -s 8M "$T/img3"
  expect "xfstests' replay-log to mark two" replay-log --log "$T/log" --replay "$T/img3" --end-mark two
  expect "replay-log's image is the disk at mark two" cmp "$T/img3" "$T/at-two"
else
  echo "skip xfstests' replay-log: not installed (not packaged in Debian 12)"
fi

# a null-store disk logs too: the front end must hand over the writes' data
expect "a logged null-store disk" ctl create w0 size=8M log_writes="$T/log0"
expect "write, flush on it" nbd w0 'h.pwrite(b"\x5a" * 65536, 131072); h.flush(); h.shutdown()'
expect "mark it" ctl mark w0 m
rm -f "$T/img0" && truncate -s 8M "$T/img0"
expect "replay its log" "$REPLAY" --log "$T/log0" --replay "$T/img0" --end-mark m
expect_eq "the null store's write is in its log" 5a5a \
  "$(od -An -tx1 -j 131072 -N2 "$T/img0" | tr -d ' ')"
expect_err "mark without a log" "no write log" mark rnullb0 x
expect_err "log_writes in a missing directory" "log_writes=$T/nodir/log: cannot open it" \
  create w2 size=8M log_writes="$T/nodir/log"

# SIGTERM (rnull-server's, nbdkit's unload): the driver's free_disk writes what is pending and the end mark
# (stop_pid: TERM, then KILL after 10 s: under sanitizer runtimes nbdkit can
# hang in exit() after the plugin's unload, see README's known issues)
stop_pid "$PID"
PID=
expect "after SIGTERM the log ends with dm-log-writes-end" replay_to dm-log-writes-end "$T/img4"
expect_eq "the unflushed write after mark two is in the log at the end" 77 \
  "$(od -An -tx1 -N1 "$T/img4" | tr -d ' ')"
checks_summary
