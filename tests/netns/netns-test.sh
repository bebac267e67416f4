#!/usr/bin/env bash
# A remote host over TCP, made of two network namespaces this test creates:
# the front end serves in one, bound to that namespace's veth address; nbdinfo,
# qemu-io, qemu-img and fio run in the other. Every address used here exists
# only inside these two namespaces.
# usage: netns-test.sh plugin|server   (env RNULL_BUILD_DIR; needs root)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fe=${1:?usage: netns-test.sh plugin|server}
: "${RNULL_BUILD_DIR:?set RNULL_BUILD_DIR to the build dir}"
# shellcheck source=../lib/frontends.sh
. "$here/../lib/frontends.sh"

require_frontend "$fe"
require_tool ip nbdinfo qemu-io qemu-img fio jq ss
[ "$(id -u)" = 0 ] || skip "needs root to create network namespaces"

# Unique names: two runs (or two front ends) never share a namespace.
ns_srv=rnull-srv-$$ ns_cli=rnull-cli-$$
veth_srv=rnv$$s veth_cli=rnv$$c
net=10.231.$(($$ % 200 + 10))
addr=$net.1 other=$net.3 client=$net.2
addr6=fd00:231::1 client6=fd00:231::2
port=10809

make_tmpdir "netns-$fe"
cleanup() {
  frontend_cleanup
  ip netns del "$ns_srv" 2>/dev/null
  ip netns del "$ns_cli" 2>/dev/null
  rm -rf "$TMPDIR_TEST"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
T=$TMPDIR_TEST

ip netns add "$ns_srv" 2>"$T/netns.err" || skip "ip netns add failed: $(cat "$T/netns.err")"
ip netns add "$ns_cli" || die "ip netns add $ns_cli failed"
in_srv() { ip netns exec "$ns_srv" "$@"; }
in_cli() { ip netns exec "$ns_cli" "$@"; }

ip link add "$veth_srv" type veth peer name "$veth_cli" || die "cannot create a veth pair"
ip link set "$veth_srv" netns "$ns_srv" && ip link set "$veth_cli" netns "$ns_cli" ||
  die "cannot move the veth ends into the namespaces"
in_srv ip addr add "$addr/24" dev "$veth_srv"
in_srv ip addr add "$other/24" dev "$veth_srv" # a second address nothing is bound to
in_srv ip addr add "$addr6/64" dev "$veth_srv" nodad
in_cli ip addr add "$client/24" dev "$veth_cli"
in_cli ip addr add "$client6/64" dev "$veth_cli" nodad
for ns in "$ns_srv" "$ns_cli"; do
  ip -n "$ns" link set lo up
done
in_srv ip link set "$veth_srv" up
in_cli ip link set "$veth_cli" up

# start_in_srv NAME BIND PORT ARGS...: the front end inside the server namespace,
# listening on BIND:PORT only.
start_in_srv() {
  local name=$1 bind=$2 p=$3
  shift 3
  frontend_argv "$fe" tcp "$bind" "$p" "$@"
  ip netns exec "$ns_srv" "${FRONTEND_ARGV[@]}" >"$T/$name.log" 2>&1 &
  FRONTEND_PIDS+=($!)
  if ! wait_until 20 listening "$p"; then
    cat "$T/$name.log" >&2
    die "$fe did not listen on port $p in $ns_srv (${FRONTEND_ARGV[*]})"
  fi
}
listening() { in_srv ss -Hltn "sport = :$1" | grep -q .; }

start_in_srv mem "$addr" $port size=32M blocksize=512 memory_backed=1
if [ "$fe" = server ]; then
  start_in_srv ro "$addr" $((port + 1)) --readonly size=8M
  start_in_srv named "$addr" $((port + 2)) --export-name disk1 size=8M
  start_in_srv v6 "$addr6" $((port + 3)) size=8M
else
  start_in_srv ro "$addr" $((port + 1)) readonly=1 size=8M
  # nbdkit serves any export name; its exportname filter makes it strict.
  frontend_argv plugin tcp "$addr" $((port + 2)) exportname=disk1 exportname-strict=true size=8M
  FRONTEND_ARGV=("${FRONTEND_ARGV[@]:0:1}" --filter=exportname "${FRONTEND_ARGV[@]:1}")
  ip netns exec "$ns_srv" "${FRONTEND_ARGV[@]}" >"$T/named.log" 2>&1 &
  FRONTEND_PIDS+=($!)
  wait_until 20 listening $((port + 2)) || die "nbdkit with the exportname filter did not listen"
  start_in_srv v6 "$addr6" $((port + 3)) size=8M
fi
URI=nbd://$addr:$port

echo "== bound to one address only"
expect_eq "listening socket of port $port" "$addr:$port" \
  "$(in_srv ss -Hltn "sport = :$port" | awk '{print $4}')"
expect "reachable at $addr from $ns_cli" in_cli nbdinfo --no-content --size "$URI"
expect_fail_like "not reachable at $other (same host, other address)" "refused" \
  in_cli timeout 20 nbdinfo --no-content --size "nbd://$other:$port"
expect_fail_like "not reachable at the server's loopback" "refused" \
  in_cli timeout 20 nbdinfo --no-content --size "nbd://127.0.0.1:$port"
expect_eq "IPv6 bind: size" $((8 * 1048576)) "$(in_cli nbdinfo --no-content --size "nbd://[$addr6]:$((port + 3))")"
expect_fail_like "IPv6 port not reachable on IPv4" "refused" in_cli timeout 20 nbdinfo --no-content --size "nbd://$addr:$((port + 3))"

echo "== I/O from the other namespace"
expect_eq "nbdinfo size" $((32 * 1048576)) "$(in_cli nbdinfo --no-content --size "$URI")"
expect_eq "nbdinfo block_size_minimum" 512 \
  "$(in_cli nbdinfo --json --no-content "$URI" | jq -r '.exports[0].block_size_minimum')"
expect "qemu-io write/read patterns over TCP" in_cli qemu-io -f raw "$URI" \
  -c 'write -P 0x3c 0 1M' -c 'read -P 0x3c 0 1M' -c 'write -z 512k 64k' -c 'read -P 0 512k 64k' \
  -c 'discard 0 64k' -c 'read -P 0 0 64k' -c 'read -P 0x3c 64k 64k'
expect "qemu-io sees the data on a new connection" in_cli qemu-io -f raw "$URI" -c 'read -P 0x3c 1044480 4k'
expect_fail "qemu-io -P notices wrong data" in_cli qemu-io -f raw "$URI" -c 'read -P 0x3d 64k 4k'
expect_eq "qemu-img info over TCP" $((32 * 1048576)) \
  "$(in_cli qemu-img info --output=json "$URI" | jq -r '.["virtual-size"]')"
expect "fio randrw+verify over TCP" in_cli fio --name=netns --ioengine=nbd --uri="$URI" \
  --rw=randwrite --bs=4k --size=8M --iodepth=16 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 \
  --minimal

expect_eq "rnull-attach over TCP" "nbd-client $addr $port /dev/nbd0 -b 512" \
  "$(in_cli "$RNULL_ATTACH" --dry-run --nbd-client nbd-client "$addr" $port /dev/nbd0 2>&1)"
expect_eq "rnull-attach over IPv6" "nbd-client $addr6 $((port + 3)) /dev/nbd1 -b 4096" \
  "$(in_cli "$RNULL_ATTACH" --dry-run --nbd-client nbd-client "$addr6" $((port + 3)) /dev/nbd1 2>&1)"

echo "== --readonly"
RO=nbd://$addr:$((port + 1))
expect_eq "nbdinfo is_read_only" true "$(in_cli nbdinfo --json --no-content "$RO" | jq -r '.exports[0].is_read_only')"
expect "qemu-io -r reads" in_cli qemu-io -r -f raw "$RO" -c 'read -P 0 0 64k'
expect_fail "qemu-io cannot open it read-write" in_cli qemu-io -f raw "$RO" -c 'write 0 4k'

echo "== export names"
NAMED=nbd://$addr:$((port + 2))
expect_eq "export disk1 served" $((8 * 1048576)) "$(in_cli nbdinfo --no-content --size "$NAMED/disk1")"
expect_fail_like "export 'other' refused" "other" in_cli nbdinfo --no-content --size "$NAMED/other"
expect_fail "default export '' refused when disk1 is configured" in_cli nbdinfo --no-content --size "$NAMED"

checks_summary
