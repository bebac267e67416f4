#!/usr/bin/env bash
# Held requests through NBD (rnull-ctl hold/release), libnbd as the client:
# requests sent while a disk holds stay in flight (rnull-ctl list counts
# them, the client gets no reply) until release serves them (a held write
# is stored) or fails them with the errno given (libnbd sees it); ops= holds
# only those operations; timeout_ms still ends a held request (EIO); power
# off fails held requests with ESHUTDOWN instead of waiting for them; every
# refusal's message. Both front ends.
# Usage: server-hold.sh server RNULL_SERVER RNULL_CTL
#        server-hold.sh plugin RNULL_PLUGIN_SO RNULL_CTL
set -uo pipefail
FE=$1
SERVER=$2
CTLBIN=$3
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool timeout
make_tmpdir hold
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
# shellcheck source=../lib/ctl_frontend.sh
. "$(dirname "$0")/../lib/ctl_frontend.sh"
$PY -c 'import nbd' 2>/dev/null || skip "$PY has no nbd module"
start_ctl_frontend 16M
expect "create h1" ctl create h1 size=16M memory_backed=1 blocksize=512

# the client: one connection, requests in flight while held
out=$(timeout 120 $PY - "$SOCK" "$CTLBIN" "$CTL" <<'PYEOF' 2>&1
import re, subprocess, sys, time
import nbd
sock, ctlbin, ctl = sys.argv[1:4]
def run(*a):
    return subprocess.run([ctlbin, "--control", ctl, *a], check=True, capture_output=True,
                          text=True).stdout
def inflight():
    for line in run("list").splitlines():
        w = line.split()
        if w and w[0] == "h1":
            return int(w[-1])
    return -1
h = nbd.NBD()
h.connect_uri("nbd+unix:///h1?socket=" + sock)
def ename(e):  # this libnbd's nbd.Error names the errno in its text only
    m = re.search(r"\((E[A-Z]+)\)$", str(e))
    return m.group(1) if m else str(e)
def status(c):
    try:
        h.aio_command_completed(c)
        return 0
    except nbd.Error as e:
        return ename(e)
# 1. hold everything: 3 writes and a read stay in flight until release
run("hold", "h1")
data = bytearray(b"\xab" * 4096)
cs = [h.aio_pwrite(data, 4096 * i) for i in range(3)] + [h.aio_pread(nbd.Buffer(4096), 0)]
for _ in range(20):
    h.poll(50)
print("pending after 1s:", h.aio_in_flight())
print("inflight:", inflight())
print(run("release", "h1").strip())
end = time.time() + 10
while time.time() < end and h.aio_in_flight() > 0:
    h.poll(100)
print("statuses:", [status(c) for c in cs])
print("stored:", h.pread(4096, 8192)[:4] == b"\xab" * 4)
# 2. only writes held; release fails them with ENOSPC
run("hold", "h1", "ops=write")
w = [h.aio_pwrite(data, 0), h.aio_pwrite(data, 4096)]
print("read while writes held:", len(h.pread(512, 0)))
print("inflight:", inflight())
print(run("release", "h1", "errno=ENOSPC").strip())
end = time.time() + 10
while time.time() < end and h.aio_in_flight() > 0:
    h.poll(100)
print("write errnos:", [status(c) for c in w])
# 3. timeout_ms still applies to a held request
run("set", "h1", "timeout_ms=300")
run("hold", "h1", "ops=read")
t0 = time.time()
try:
    h.pread(512, 0)
    print("timed out: no")
except nbd.Error as e:
    print("timed out:", ename(e), "after", "ok" if time.time() - t0 < 20 else "too long")
print(run("release", "h1").strip())
# 4. power off fails held requests with ESHUTDOWN at once, not after timeout_ms
# (the plugin's power off then waits for the client to hang up: we do)
run("set", "h1", "timeout_ms=30000")
run("hold", "h1")
c = h.aio_pread(nbd.Buffer(4096), 0)
h.poll(100)
t0 = time.time()
off = subprocess.Popen([ctlbin, "--control", ctl, "power", "h1", "off"])
got = "no reply"
while time.time() - t0 < 10:
    try:
        h.poll(100)
        if h.aio_command_completed(c):
            got = 0
            break
    except nbd.Error as e:
        got = ename(e)
        break
print("held at power off:", got, "quick" if time.time() - t0 < 10 else "slow")
try:
    h.shutdown()
except nbd.Error:
    pass
del h
print("power off rc:", off.wait(timeout=60))
PYEOF
)
echo "$out"
expect_eq "held requests get no reply" "pending after 1s: 4" "$(grep '^pending' <<<"$out")"
expect_eq "held requests are in flight" "inflight: 4" "$(grep '^inflight' <<<"$out" | head -1)"
expect_eq "release serves them" "released=4" "$(grep '^released' <<<"$out" | head -1)"
expect_eq "served with success" "statuses: [0, 0, 0, 0]" "$(grep '^statuses' <<<"$out")"
expect_eq "a held write is stored" "stored: True" "$(grep '^stored' <<<"$out")"
expect_eq "ops=write: reads go on" "read while writes held: 512" "$(grep '^read while' <<<"$out")"
expect_eq "ops=write: two in flight" "inflight: 2" "$(grep '^inflight' <<<"$out" | sed -n 2p)"
expect_eq "release errno=ENOSPC" "released=2" "$(grep '^released' <<<"$out" | sed -n 2p)"
expect_eq "libnbd sees ENOSPC" "write errnos: ['ENOSPC', 'ENOSPC']" "$(grep '^write errnos' <<<"$out")"
expect_eq "timeout_ms ends a held read with EIO" "timed out: EIO after ok" "$(grep '^timed out' <<<"$out")"
expect_eq "nothing left to release" "released=0" "$(grep '^released' <<<"$out" | sed -n 3p)"

# refusals
expect_err "hold an unknown operation" "^rnull-ctl: h1: hold: unknown operation 'bogus': expected ops= one or more of read,write,flush,trim,zero,cache$" hold h1 ops=read,bogus
expect_err "hold a stray word" "^rnull-ctl: h1: hold: 'x': expected ops=read,write,flush,trim,zero,cache$" hold h1 x
expect_err "release an unknown errno" "^rnull-ctl: h1: release: unknown error 'EAGAIN': expected one of EPERM, EIO, ENOMEM, EINVAL, ENOSPC, EOVERFLOW, ENOTSUP, ESHUTDOWN$" release h1 errno=EAGAIN
expect_err "release a stray word" "^rnull-ctl: h1: release: 'now': expected errno=E$" release h1 now
expect_err "hold an unknown disk" "^rnull-ctl: nope: unknown disk" hold nope
expect_err "hold without a disk" "^rnull-ctl: hold: missing disk name$" hold
expect_eq "power off fails a held request at once" "held at power off: ESHUTDOWN quick" "$(grep '^held at power off' <<<"$out")"
expect_eq "power off succeeds" "power off rc: 0" "$(grep '^power off rc' <<<"$out")"
expect_err "hold a powered-off disk" "^rnull-ctl: h1: powered off: nothing to hold$" hold h1
expect_err "release a powered-off disk" "^rnull-ctl: h1: powered off: nothing held$" release h1

kill "$PID"
for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
[ "$CHECKS_FAILED" = 0 ] || { echo "--- server log"; cat "$T/server.log"; }
checks_summary
