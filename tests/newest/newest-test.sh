#!/usr/bin/env bash
# Today's clients against one front end in one completion mode: the checks of
# tests/interop (nbdinfo --json fields, qemu-img info/convert/compare, qemu-io
# patterns, nbdcopy, fio verify) run with Debian 13's libnbd 1.22, qemu 10
# and fio 3.39 from the trixie chroot, then libnbd-ext.py with and without
# extended headers. The plugin is served by trixie's nbdkit 1.42 (our
# rnull.so, built on Debian 12, copied into the chroot); rnull-server runs on
# the host. Sockets live under the chroot's /tmp, which both sides see.
# usage: newest-test.sh plugin|server IRQMODE   (env RNULL_BUILD_DIR)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fe=${1:?usage: newest-test.sh plugin|server 0|1|2}
irq=${2:?usage: newest-test.sh plugin|server 0|1|2}
: "${RNULL_BUILD_DIR:?set RNULL_BUILD_DIR to the build dir}"
# shellcheck source=../lib/frontends.sh
. "$here/../lib/frontends.sh"

case $fe in
plugin) [ -f "$RNULL_PLUGIN" ] || skip "$RNULL_PLUGIN not built" ;;
server) [ -x "$RNULL_SERVER" ] || skip "$RNULL_SERVER not built" ;;
*) die "unknown front end '$fe' (plugin|server)" ;;
esac
require_tool ss cmp
R=$("$here/trixie-chroot.sh") || exit $?
in_chroot() { chroot "$R" "$@"; }

TMPDIR="$R/tmp" make_tmpdir "newest-$fe-$irq"
trap 'frontend_cleanup; rm -rf "$TMPDIR_TEST"' EXIT
trap 'exit 143' TERM INT
T=$TMPDIR_TEST      # the host's path
C=${T#"$R"}         # the same directory inside the chroot
MiB=1048576
PiB=1125899906842624

# serve NAME KEY=VALUE...: the front end on $T/NAME.sock, log $T/NAME.log.
serve() {
  local name=$1 bound
  shift
  if [ "$fe" = server ]; then
    FRONTEND_ARGV=("$RNULL_SERVER" --foreground --unix "$T/$name.sock" "$@")
    bound=$T/$name.sock
  else
    [ -f "$T/rnull.so" ] || cp "$RNULL_PLUGIN" "$T/rnull.so"
    FRONTEND_ARGV=(chroot "$R" nbdkit -f -U "$C/$name.sock" "$C/rnull.so" "$@")
    bound=$C/$name.sock # ss shows the path as nbdkit bound it, inside the chroot
  fi
  "${FRONTEND_ARGV[@]}" >"$T/$name.log" 2>&1 &
  FRONTEND_PIDS+=("$!")
  wait_until 20 unix_listening "$bound" || {
    cat "$T/$name.log" >&2
    die "$fe did not listen on $bound (command: ${FRONTEND_ARGV[*]})"
  }
}
uri() { echo "nbd+unix:///?socket=$C/$1.sock"; }

mode_keys=(irqmode="$irq")
[ "$irq" = 2 ] && mode_keys+=(completion_nsec=20000)
serve mem size=16M blocksize=512 physical_blocksize=4096 memory_backed=1 "${mode_keys[@]}"
serve null size=64M "${mode_keys[@]}"
serve ro size=8M blocksize=1024 readonly=1 rotational=1 discard=0 "${mode_keys[@]}"
serve pib size=1P "${mode_keys[@]}"
MEM=$(uri mem) NULL=$(uri null) RO=$(uri ro) PIB=$(uri pib)
# Extended headers: rnull-server offers them, nbdkit 1.42 does not.
ext=false
[ "$fe" = server ] && ext=true

echo "== versions"
in_chroot nbdinfo --version | head -n 2
in_chroot qemu-img --version | head -n 1
in_chroot fio --version
[ "$fe" = plugin ] && in_chroot nbdkit --version

echo "== nbdinfo --json (libnbd 1.22)"
info() { in_chroot nbdinfo --json --no-content "$1" | jq -r "$2"; }
expect_eq "null extended headers" $ext "$(info "$NULL" .extended)"
expect_eq "null structured replies" true "$(info "$NULL" .structured)"
expect_eq "null size" $((64 * MiB)) "$(info "$NULL" '.exports[0]["export-size"]')"
expect_eq "null block_size_minimum" 4096 "$(info "$NULL" .exports[0].block_size_minimum)"
expect_eq "null block_size_preferred" 4096 "$(info "$NULL" .exports[0].block_size_preferred)"
expect_eq "null block_size_maximum" $((32 * MiB)) "$(info "$NULL" .exports[0].block_size_maximum)"
expect_eq "null is_rotational" false "$(info "$NULL" .exports[0].is_rotational)"
for f in can_flush can_fua can_trim can_zero can_fast_zero can_cache can_multi_conn can_df; do
  expect_eq "null $f" true "$(info "$NULL" ".exports[0].$f")"
done
expect_eq "null base:allocation" base:allocation "$(info "$NULL" '.exports[0].contexts[]?' | grep -x base:allocation)"
expect_eq "mem block_size_minimum" 512 "$(info "$MEM" .exports[0].block_size_minimum)"
expect_eq "mem block_size_preferred" 4096 "$(info "$MEM" .exports[0].block_size_preferred)"
expect_eq "ro is_rotational" true "$(info "$RO" .exports[0].is_rotational)"
expect_eq "ro is_read_only" true "$(info "$RO" .exports[0].is_read_only)"
expect_eq "ro can_trim" false "$(info "$RO" .exports[0].can_trim)"
expect_eq "1 PiB size" $PiB "$(info "$PIB" '.exports[0]["export-size"]')"
if [ "$ext" = true ]; then
  expect_eq "nbdinfo says so" 1 "$(in_chroot nbdinfo --no-content "$PIB" | grep -c 'using extended packets')"
fi

echo "== qemu-img 10"
qinfo() { in_chroot qemu-img info --output=json "$1" | jq -r "$2"; }
expect_eq "qemu-img info null virtual-size" $((64 * MiB)) "$(qinfo "$NULL" '.["virtual-size"]')"
expect_eq "qemu-img info 1 PiB virtual-size" $PiB "$(qinfo "$PIB" '.["virtual-size"]')"
head -c $((16 * MiB)) /dev/urandom >"$T/src.img"
truncate -s $((64 * MiB)) "$T/zero64.img"
expect "qemu-img convert file -> mem" in_chroot qemu-img convert -n -f raw -O raw "$C/src.img" "$MEM"
expect "qemu-img compare file = mem" in_chroot qemu-img compare -f raw -F raw "$C/src.img" "$MEM"
expect "qemu-img convert mem -> file" in_chroot qemu-img convert -f raw -O raw "$MEM" "$C/back.img"
expect "round trip through mem is identical" cmp "$T/src.img" "$T/back.img"
expect "qemu-img compare null = zeros" in_chroot qemu-img compare -f raw -F raw "$C/zero64.img" "$NULL"
expect "qemu-img convert file -> null" in_chroot qemu-img convert -n -f raw -O raw "$C/src.img" "$NULL"

echo "== qemu-io 10"
qio() { in_chroot qemu-io -f raw "$@"; }
expect "qemu-io write/read patterns on mem" qio "$MEM" \
  -c 'write -P 0xa5 0 64k' -c 'read -P 0xa5 0 64k' \
  -c 'write -P 0x5a 1M 512' -c 'read -P 0x5a 1M 512' -c 'read -P 0xa5 0 64k'
expect "qemu-io write-zeroes and discard on mem" qio "$MEM" \
  -c 'write -P 0x77 2M 128k' -c 'write -z 2M 64k' -c 'read -P 0 2M 64k' -c 'read -P 0x77 2112k 64k' \
  -c 'write -P 0x33 3M 64k' -c 'discard 3M 64k' -c 'read -P 0 3M 64k'
expect "qemu-io aio writes in flight on mem" qio "$MEM" \
  -c 'aio_write -P 0x21 4M 64k' -c 'aio_write -P 0x22 4160k 64k' -c 'aio_flush' \
  -c 'read -P 0x21 4M 64k' -c 'read -P 0x22 4160k 64k'
expect_fail "qemu-io -P notices wrong data" qio "$MEM" -c 'read -P 0xa6 0 64k'
expect "qemu-io null: writes accepted, reads zeros" qio "$NULL" \
  -c 'write -P 0xff 0 64k' -c 'read -P 0 0 64k' -c 'write -z 1M 64k' -c 'discard 2M 64k' -c 'flush'
expect "qemu-io 1 PiB: a 1 GiB discard and write zeroes at the end" qio "$PIB" \
  -c "discard $((PiB - 1024 * MiB)) 1G" -c "write -z $((PiB - 1024 * MiB)) 1G" -c "read -P 0 $((PiB - MiB)) 1M"
expect_fail "qemu-io read past the end" qio "$MEM" -c "read $((16 * MiB)) 512"
expect "qemu-io -r reads read-only disk" qio -r "$RO" -c 'read -P 0 0 64k'

echo "== nbdcopy (libnbd 1.22)"
head -c $((16 * MiB)) /dev/urandom >"$T/src2.img"
expect "nbdcopy file -> mem" in_chroot nbdcopy "$C/src2.img" "$MEM"
expect "nbdcopy mem -> file" in_chroot nbdcopy "$MEM" "$C/back2.img"
expect "nbdcopy round trip identical" cmp "$T/src2.img" "$T/back2.img"
expect "nbdcopy null -> file" in_chroot nbdcopy "$NULL" "$C/null.img"
expect "null disk copied as zeros" cmp "$T/null.img" "$T/zero64.img"

echo "== block status"
expect_eq "nbdinfo --map null: one extent, hole+zero" "1 3" \
  "$(in_chroot nbdinfo --map --json "$NULL" | jq -r '"\(length) \(.[0].type)"')"
if [ "$ext" = true ]; then
  # Without extended headers each map takes 2^18 requests of < 4 GiB
  # (10 s with nbdkit 1.42), so only where one request covers the disk.
  expect_eq "nbdinfo --map 1 PiB: one extent" "1 $PiB 3" \
    "$(in_chroot nbdinfo --map --json "$PIB" | jq -r '"\(length) \(.[0].length) \(.[0].type)"')"
  expect_eq "qemu-img map 1 PiB: one zero extent" "1 $PiB true false" \
    "$(in_chroot qemu-img map --output=json -f raw "$PIB" | jq -r '"\(length) \(.[0].length) \(.[0].zero) \(.[0].data)"')"
fi

echo "== fio 3.39 (nbd engine)"
fio_job() {
  in_chroot fio --name="$1" --ioengine=nbd --uri="$2" --rw="$3" --bs=4k --size=8M --iodepth=16 \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --minimal "${@:4}"
}
expect "fio randwrite+verify on mem" fio_job vmem "$MEM" randwrite
expect_fail "fio verify fails on null (writes dropped)" fio_job vnull "$NULL" randwrite
expect "fio randread on 1 PiB" in_chroot fio --name=pib --ioengine=nbd --uri="$PIB" --rw=randread \
  --bs=4k --size=64M --iodepth=32 --minimal

echo "== python3-libnbd 1.22, with and without extended headers"
cp "$here/libnbd-ext.py" "$T/"
if in_chroot python3 "$C/libnbd-ext.py" "$fe" "$MEM" "$PIB" 2>&1 | sed 's/^/  /'; then
  ok "libnbd-ext.py ($fe)"
else
  not_ok "libnbd-ext.py ($fe): see the lines above"
fi

checks_summary
