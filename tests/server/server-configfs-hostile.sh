#!/usr/bin/env bash
# rnull-server --configfs under hostile names and values (issue 22): every
# name and value is checked on its own and passed as one word, never pasted
# into a command line; a value is applied whole or refused, never cut; an
# external fusermount3 -u leaves a quiet, clean exit.
# Usage: server-configfs-hostile.sh RNULL_SERVER
set -uo pipefail
SERVER=$1
PY=/usr/bin/python3
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
[ -c /dev/fuse ] || skip "/dev/fuse missing: no FUSE here, --configfs cannot mount"
require_tool fusermount3 mountpoint
help=$("$SERVER" --help)
grep -q -- --configfs <<<"$help" || skip "rnull-server built without FUSE"
make_tmpdir cfshostile
T=$TMPDIR_TEST
PID=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  [ -z "$PID" ] || stop_pid "$PID"
  PID=
  mountpoint -q "$T/nullb" && fusermount3 -u "$T/nullb"
  test_cleanup
}
trap cleanup EXIT
N=$T/nullb
mkdir "$N"
"$SERVER" -f --unix "$T/nbd.sock" --configfs "$N" size=64M >"$T/server.log" 2>&1 &
PID=$!
for _ in $(seq 100); do [ -e "$N/features" ] && break; sleep 0.1; done
# errno_of OP ARGS: the errno name a Python file operation fails with, or ok
errno_of() { $PY - "$@" <<'PYEOF'
import errno, os, sys
op, path = sys.argv[1], sys.argv[2]
try:
    if op == "mkdir":
        os.mkdir(path)
    else:
        fd = os.open(path, os.O_WRONLY)
        try:
            n = os.write(fd, sys.argv[3].encode().decode("unicode_escape").encode("latin-1"))
            assert n == len(sys.argv[3].encode().decode("unicode_escape")), n
        finally:
            os.close(fd)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
PYEOF
}

# a name with blanks and keys: refused, and no disk made from its words
expect_eq "mkdir 'v size=8192 memory_backed=1'" EINVAL "$(errno_of mkdir "$N/v size=8192 memory_backed=1")"
[ -e "$N/v" ] && not_ok "disk v was created from the name's words" || ok "no disk v"
expect_eq "mkdir 'a=b'" EINVAL "$(errno_of mkdir "$N/a=b")"
expect_eq "mkdir with a tab" EINVAL "$(errno_of mkdir "$N/x	y")"
expect_eq "mkdir a 40-byte name" ENAMETOOLONG "$(errno_of mkdir "$N/$(printf 'n%.0s' $(seq 40))")"

mkdir "$N/w" && ok "mkdir w" || not_ok "mkdir w"
# a value carrying more keys after a CR: refused whole
expect_eq "blocksize '512\\rsubmit_queues=8\\rmemory_backed=1'" EINVAL \
  "$(errno_of write "$N/w/blocksize" '512\rsubmit_queues=8\rmemory_backed=1')"
expect_eq "submit_queues unchanged" 1 "$(cat "$N/w/submit_queues")"
expect_eq "memory_backed unchanged" 0 "$(cat "$N/w/memory_backed")"
expect_eq "blocksize unchanged" 4096 "$(cat "$N/w/blocksize")"
expect_eq "a value with a blank" EINVAL "$(errno_of write "$N/w/blocksize" '512 1024')"
# a long value: applied whole (1,016 bytes meaning sectors 0-99), never cut
long=$(printf '0%.0s' $(seq 1012))0-99
expect_eq "a 1,016-byte badblocks value" ok "$(errno_of write "$N/w/badblocks" "$long")"
expect_eq "badblocks reads back 0-99" 0-99 "$(cat "$N/w/badblocks")"
expect_eq "a 5,000-byte value" E2BIG "$(errno_of write "$N/w/badblocks" "$(printf '0%.0s' $(seq 4996))0-99")"
echo 512 >"$N/w/blocksize" && expect_eq "echo 512 > blocksize still works" 512 "$(cat "$N/w/blocksize")"

# an external unmount, then SIGTERM: a clean, quiet exit
fusermount3 -u "$N" && ok "external fusermount3 -u" || not_ok "fusermount3 -u"
kill -TERM "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$PID" 2>/dev/null; then not_ok "no exit after SIGTERM"; else
  wait "$PID"
  expect_eq "exit status after an external unmount" 0 $?
  PID=
fi
grep -q "cannot unmount" "$T/server.log" && not_ok "'cannot unmount' logged: $(grep unmount "$T/server.log")" ||
  ok "nothing about unmounting logged"
checks_summary
