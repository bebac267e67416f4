#!/usr/bin/env bash
# rnull-attach against one front end: the -b it computes for each logical
# block size, pass-through of nbd-client's arguments, and its errors.
# usage: attach-test.sh plugin|server   (env RNULL_BUILD_DIR)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fe=${1:?usage: attach-test.sh plugin|server}
: "${RNULL_BUILD_DIR:?set RNULL_BUILD_DIR to the build dir}"
# shellcheck source=../lib/frontends.sh
. "$here/../lib/frontends.sh"

require_frontend "$fe"
[ -x "$RNULL_ATTACH" ] || skip "$RNULL_ATTACH not built"
require_tool socat ss

make_tmpdir "attach-$fe"
trap 'frontend_cleanup; rm -rf "$TMPDIR_TEST"' EXIT
trap 'exit 143' TERM INT
T=$TMPDIR_TEST
attach() { "$RNULL_ATTACH" --nbd-client nbd-client "$@"; }

# expect_out NAME WANT CMD...: the command succeeds and prints exactly WANT.
expect_out() {
  local name=$1 want=$2 got
  shift 2
  if got=$("$@" 2>&1); then
    expect_eq "$name" "$want" "$got"
  else
    not_ok "$name: '$*' failed: $got"
  fi
}
# expect_err NAME RC PATTERN CMD...: exit code RC and stderr matching PATTERN.
expect_err() {
  local name=$1 want_rc=$2 pat=$3 got rc
  shift 3
  got=$("$@" 2>&1)
  rc=$?
  if [ $rc -eq "$want_rc" ] && grep -q -- "$pat" <<<"$got"; then
    ok "$name (exit $rc: $(head -n 1 <<<"$got"))"
  else
    not_ok "$name: want exit $want_rc and /$pat/, got exit $rc: $got"
  fi
}

echo "== -b follows the server's logical block size"
for bs in 512 1024 2048 4096; do
  start_frontend_unix "$fe" "$T/bs$bs.sock" "$T/bs$bs.log" size=8M blocksize=$bs
  expect_out "blocksize=$bs" "nbd-client -unix $T/bs$bs.sock /dev/nbd0 -b $bs" \
    attach --dry-run -unix "$T/bs$bs.sock" /dev/nbd0
done
# physical_blocksize is not the kernel's sector size: -b stays the logical one.
start_frontend_unix "$fe" "$T/pbs.sock" "$T/pbs.log" size=8M blocksize=512 physical_blocksize=4096
expect_out "physical_blocksize=4096 keeps -b 512" "nbd-client -unix $T/pbs.sock /dev/nbd3 -b 512" \
  attach --dry-run -u "$T/pbs.sock" /dev/nbd3

echo "== nbd-client arguments pass through"
S=$T/bs4096.sock
expect_out "options kept in order" "nbd-client -unix $S /dev/nbd1 -b 4096 -t 30 -persist -N ''" \
  attach --dry-run -unix "$S" /dev/nbd1 -t 30 -persist -N ''
expect_out "options before the host" "nbd-client -unix $S /dev/nbd1 -b 4096 -nonetlink --timeout=5" \
  attach -nonetlink --dry-run --timeout=5 -unix "$S" /dev/nbd1
expect_out "a -b given wins, no query" "nbd-client -unix $T/absent.sock /dev/nbd0 -b 1024" \
  attach --dry-run -unix "$T/absent.sock" /dev/nbd0 -b 1024
expect_out "an attached -b1024 wins too" "nbd-client -unix $T/absent.sock /dev/nbd0 -b1024" \
  attach --dry-run -unix "$T/absent.sock" /dev/nbd0 -b1024
expect_out "--block-size=512 wins too" "nbd-client -unix $T/absent.sock /dev/nbd0 --block-size=512" \
  attach --dry-run -unix "$T/absent.sock" /dev/nbd0 --block-size=512
expect_out "-connections is not -c onnections" "nbd-client -unix $S /dev/nbd1 -b 4096 -connections 2" \
  attach --dry-run -unix "$S" /dev/nbd1 -connections 2
expect_out "-C2 (attached) passes through" "nbd-client -unix $S /dev/nbd1 -b 4096 -C2" \
  attach --dry-run -unix "$S" /dev/nbd1 -C2
expect_out "an option's value is never an option (-N -u)" "nbd-client -unix $T/absent.sock /dev/nbd0 -b 512 -N -u" \
  attach --dry-run -unix "$T/absent.sock" /dev/nbd0 -b 512 -N -u
expect_out "-d passes through" "nbd-client -d /dev/nbd0" attach --dry-run -d /dev/nbd0
expect_out "-c passes through" "nbd-client -c /dev/nbd2" attach --dry-run -c /dev/nbd2
expect_out "nbdtab form passes through" "nbd-client nbd0" attach --dry-run nbd0
expect_out "RNULL_NBD_CLIENT names the client" "/opt/x/nbd-client -d /dev/nbd0" \
  env RNULL_NBD_CLIENT=/opt/x/nbd-client "$RNULL_ATTACH" --dry-run -d /dev/nbd0

echo "== export names"
if [ "$fe" = server ]; then
  start_frontend_unix "$fe" "$T/named.sock" "$T/named.log" --export-name disk1 size=8M blocksize=2048
  expect_out "-N disk1 asks that export" "nbd-client -unix $T/named.sock /dev/nbd0 -b 2048 -N disk1" \
    attach --dry-run -unix "$T/named.sock" /dev/nbd0 -N disk1
  expect_out "-Ndisk1 (attached) asks that export" "nbd-client -unix $T/named.sock /dev/nbd0 -b 2048 -Ndisk1" \
    attach --dry-run -unix "$T/named.sock" /dev/nbd0 -Ndisk1
  expect_out "-name disk1 asks that export" "nbd-client -unix $T/named.sock /dev/nbd0 -b 2048 -name disk1" \
    attach --dry-run -unix "$T/named.sock" /dev/nbd0 -name disk1
  expect_err "-N other refused by the server" 1 'export "other"' \
    attach --dry-run -unix "$T/named.sock" /dev/nbd0 -N other
else
  expect_out "-N passes through" "nbd-client -unix $S /dev/nbd0 -b 4096 -N disk1" \
    attach --dry-run -unix "$S" /dev/nbd0 -N disk1
  # A server that states no block size (nbdkit's memory plugin): the kernel default.
  nbdkit -f --threads=1 -U "$T/peer.sock" memory 8M >"$T/peer.log" 2>&1 &
  FRONTEND_PIDS+=($!)
  wait_until 20 unix_listening "$T/peer.sock" || die "nbdkit memory did not start"
  expect_out "no block size stated: -b 512" "nbd-client -unix $T/peer.sock /dev/nbd0 -b 512" \
    attach --dry-run -unix "$T/peer.sock" /dev/nbd0
fi

echo "== TLS: the question is asked over TLS, nbd-client gets the files"
C=$T/certs
bash "$here/../tls/make-certs.sh" "$C" || die "make-certs.sh failed"
FRONTEND_OPTS=(--tls=require "--tls-certificates=$C/server")
start_frontend_unix "$fe" "$T/tls.sock" "$T/tls.log" size=8M blocksize=2048
FRONTEND_OPTS=()
TS=$T/tls.sock
expect_out "--tls-certificates DIR" \
  "nbd-client -unix $TS /dev/nbd0 -b 2048 -cacertfile $C/client/ca-cert.pem -certfile $C/client/client-cert.pem -keyfile $C/client/client-key.pem -t 30" \
  attach --dry-run -unix "$TS" /dev/nbd0 --tls-certificates "$C/client" -t 30
expect_out "--tls-certificates DIR without a client certificate" \
  "nbd-client -unix $TS /dev/nbd0 -b 2048 -cacertfile $C/noclient/ca-cert.pem" \
  attach --dry-run -unix "$TS" /dev/nbd0 --tls-certificates="$C/noclient"
expect_out "nbd-client's own -cacertfile/-certfile/-keyfile" \
  "nbd-client -unix $TS /dev/nbd0 -b 2048 -A $C/client/ca-cert.pem -certfile $C/client/client-cert.pem -K $C/client/client-key.pem" \
  attach --dry-run -unix "$TS" /dev/nbd0 -A "$C/client/ca-cert.pem" -certfile "$C/client/client-cert.pem" -K "$C/client/client-key.pem"
expect_err "TLS server, no TLS option: the question fails" 1 "TLS" \
  attach --dry-run -unix "$TS" /dev/nbd0
expect_err "a missing certificate file is named" 1 "$C/none.pem" \
  attach --dry-run -unix "$TS" /dev/nbd0 -cacertfile "$C/none.pem"
# Over TCP libnbd checks the server's certificate against the host name.
FRONTEND_OPTS=(--tls=require "--tls-certificates=$C/server")
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' || echo 0)
if [ "$port" != 0 ]; then
  frontend_argv "$fe" tcp 127.0.0.1 "$port" size=8M blocksize=1024
  "${FRONTEND_ARGV[@]}" >"$T/tls-tcp.log" 2>&1 &
  FRONTEND_PIDS+=($!)
  wait_until 20 eval "ss -ltn | grep -q ':$port '" || die "TLS front end did not listen on $port"
  expect_out "over TCP 127.0.0.1" \
    "nbd-client 127.0.0.1 $port /dev/nbd0 -b 1024 -cacertfile $C/client/ca-cert.pem -certfile $C/client/client-cert.pem -keyfile $C/client/client-key.pem" \
    attach --dry-run 127.0.0.1 "$port" /dev/nbd0 --tls-certificates "$C/client"
  expect_err "over TCP, a CA that did not sign the server's certificate" 1 "certificate" \
    attach --dry-run 127.0.0.1 "$port" /dev/nbd0 --tls-certificates "$C/wrongca"
fi
FRONTEND_OPTS=()

echo "== exec"
cat >"$T/fake-nbd-client" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >"$T/fake.args"
exit 3
EOF
chmod +x "$T/fake-nbd-client"
"$RNULL_ATTACH" --nbd-client "$T/fake-nbd-client" -unix "$S" /dev/nbd5 -R >/dev/null 2>&1
rc=$?
expect_eq "exec: nbd-client's exit code" 3 "$rc"
expect_eq "exec: nbd-client's arguments" "-unix $S /dev/nbd5 -b 4096 -R" "$(cat "$T/fake.args" 2>/dev/null)"
expect_err "exec: missing nbd-client" 127 "cannot run" \
  "$RNULL_ATTACH" --nbd-client "$T/no-such-client" -unix "$S" /dev/nbd0

echo "== errors"
expect_err "no arguments" 2 "missing host and device" "$RNULL_ATTACH"
expect_err "socket without device" 2 "missing device" attach -unix "$S"
expect_err "device not a path" 2 "not a path" attach -unix "$S" nbd0 -t 5
expect_err "bad port" 2 "bad port '99999'" attach localhost 99999 /dev/nbd0
expect_err "port with -unix" 2 "not a port" attach -unix "$S" 10809 /dev/nbd0
expect_err "unknown option" 2 "unknown option '--frobnicate'" attach --frobnicate -unix "$S" /dev/nbd0
expect_err "option without value" 2 "needs a value" attach -unix "$S" /dev/nbd0 -t
expect_err "--tls-certificates without a directory" 2 "needs a directory" \
  attach -unix "$S" /dev/nbd0 --tls-certificates
expect_err "absent socket" 1 "cannot connect to unix socket $T/absent.sock" \
  attach --dry-run -unix "$T/absent.sock" /dev/nbd0
expect_err "refused TCP port" 1 "cannot connect to 127.0.0.1 port 1 " \
  attach --dry-run 127.0.0.1 1 /dev/nbd0
# A listener that never answers: the query gives up instead of hanging.
socat UNIX-LISTEN:"$T/mute.sock",fork SYSTEM:'sleep 5' >/dev/null 2>&1 &
FRONTEND_PIDS+=($!)
wait_until 20 unix_listening "$T/mute.sock" || die "socat did not listen"
expect_err "silent server times out" 1 "no answer" \
  env RNULL_ATTACH_TIMEOUT=1 "$RNULL_ATTACH" --dry-run -unix "$T/mute.sock" /dev/nbd0
expect_err "--help mentions --dry-run" 0 "--dry-run" "$RNULL_ATTACH" --help

checks_summary
