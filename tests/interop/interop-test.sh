#!/usr/bin/env bash
# qemu-img, qemu-io, nbdcopy, nbdinfo and fio's nbd engine against one front
# end in one completion mode.
# usage: interop-test.sh plugin|server IRQMODE   (env RNULL_BUILD_DIR)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fe=${1:?usage: interop-test.sh plugin|server 0|1|2}
irq=${2:?usage: interop-test.sh plugin|server 0|1|2}
: "${RNULL_BUILD_DIR:?set RNULL_BUILD_DIR to the build dir}"
# shellcheck source=../lib/frontends.sh
. "$here/../lib/frontends.sh"

require_frontend "$fe"
require_tool qemu-img qemu-io nbdcopy nbdinfo fio jq ss

make_tmpdir "interop-$fe-$irq"
trap 'frontend_cleanup; rm -rf "$TMPDIR_TEST"' EXIT
trap 'exit 143' TERM INT
T=$TMPDIR_TEST
MiB=1048576

# Three disks: memory-backed (data round trips), null (reads zeros, writes
# dropped), and a read-only rotational one without discard (flags follow keys).
mode_keys="irqmode=$irq"
[ "$irq" = 2 ] && mode_keys+=" completion_nsec=20000"
# shellcheck disable=SC2086
start_frontend_unix "$fe" "$T/mem.sock" "$T/mem.log" size=16M blocksize=512 \
  physical_blocksize=4096 memory_backed=1 $mode_keys
# shellcheck disable=SC2086
start_frontend_unix "$fe" "$T/null.sock" "$T/null.log" size=64M $mode_keys
# shellcheck disable=SC2086
start_frontend_unix "$fe" "$T/ro.sock" "$T/ro.log" size=8M blocksize=1024 readonly=1 \
  rotational=1 discard=0 $mode_keys
MEM="nbd+unix:///?socket=$T/mem.sock"
NULL="nbd+unix:///?socket=$T/null.sock"
RO="nbd+unix:///?socket=$T/ro.sock"

echo "== nbdinfo --json"
# info URI JQ-EXPR: one field of nbdinfo's JSON for the export.
info() { nbdinfo --json --no-content "$1" | jq -r ".exports[0]$2"; }
expect_eq "null size" $((64 * MiB)) "$(info "$NULL" '["export-size"]')"
expect_eq "null block_size_minimum" 4096 "$(info "$NULL" .block_size_minimum)"
expect_eq "null block_size_preferred" 4096 "$(info "$NULL" .block_size_preferred)"
max=$(info "$NULL" .block_size_maximum)
if [ "$max" != null ] && [ "$max" -ge 4096 ]; then ok "null block_size_maximum = $max"; else not_ok "null block_size_maximum: '$max'"; fi
expect_eq "null is_rotational" false "$(info "$NULL" .is_rotational)"
expect_eq "null is_read_only" false "$(info "$NULL" .is_read_only)"
for f in can_flush can_fua can_trim can_zero can_fast_zero can_cache can_multi_conn can_df; do
  expect_eq "null $f" true "$(info "$NULL" ".$f")"
done
expect_eq "null base:allocation" base:allocation "$(info "$NULL" '.contexts[]?' | grep -x base:allocation)"
expect_eq "nbdinfo --list: one export" 1 "$(nbdinfo --list --json "$NULL" | jq '.exports | length')"
expect_eq "mem size" $((16 * MiB)) "$(info "$MEM" '["export-size"]')"
expect_eq "mem block_size_minimum" 512 "$(info "$MEM" .block_size_minimum)"
expect_eq "mem block_size_preferred" 4096 "$(info "$MEM" .block_size_preferred)"
expect_eq "ro size" $((8 * MiB)) "$(info "$RO" '["export-size"]')"
expect_eq "ro block_size_minimum" 1024 "$(info "$RO" .block_size_minimum)"
expect_eq "ro is_rotational" true "$(info "$RO" .is_rotational)"
expect_eq "ro is_read_only" true "$(info "$RO" .is_read_only)"
expect_eq "ro can_trim" false "$(info "$RO" .can_trim)"

echo "== qemu-img"
qinfo() { qemu-img info --output=json "$1" | jq -r "$2"; }
expect_eq "qemu-img info null virtual-size" $((64 * MiB)) "$(qinfo "$NULL" '.["virtual-size"]')"
expect_eq "qemu-img info null format" raw "$(qinfo "$NULL" .format)"
expect_eq "qemu-img info mem virtual-size" $((16 * MiB)) "$(qinfo "$MEM" '.["virtual-size"]')"
head -c $((16 * MiB)) /dev/urandom >"$T/src.img"
expect "qemu-img convert file -> mem" qemu-img convert -n -f raw -O raw "$T/src.img" "$MEM"
expect "qemu-img compare file = mem" qemu-img compare -f raw -F raw "$T/src.img" "$MEM"
expect "qemu-img convert mem -> file" qemu-img convert -f raw -O raw "$MEM" "$T/back.img"
expect "file round trip through mem is identical" cmp "$T/src.img" "$T/back.img"
printf 'x' | dd of="$T/back.img" bs=1 seek=$((5 * MiB + 7)) conv=notrunc status=none
expect_fail "qemu-img compare notices a changed byte" qemu-img compare -f raw -F raw "$T/back.img" "$MEM"
truncate -s $((64 * MiB)) "$T/zero64.img"
expect "qemu-img compare null = zeros" qemu-img compare -f raw -F raw "$T/zero64.img" "$NULL"
expect "qemu-img convert file -> null (writes accepted)" qemu-img convert -n -f raw -O raw "$T/src.img" "$NULL"
expect "null still reads zeros after writes" qemu-img compare -f raw -F raw "$T/zero64.img" "$NULL"

echo "== qemu-io"
qio() { qemu-io -f raw "$@"; }
expect "qemu-io write/read patterns on mem" qio "$MEM" \
  -c 'write -P 0xa5 0 64k' -c 'read -P 0xa5 0 64k' \
  -c 'write -P 0x5a 1M 512' -c 'read -P 0x5a 1M 512' -c 'read -P 0xa5 0 64k' \
  -c 'write -P 0x11 16773632 512' -c 'read -P 0x11 16773632 512'
expect "qemu-io write-zeroes on mem" qio "$MEM" \
  -c 'write -P 0x77 2M 128k' -c 'write -z 2M 64k' -c 'read -P 0 2M 64k' -c 'read -P 0x77 2112k 64k'
expect "qemu-io discard on mem reads zeros" qio "$MEM" \
  -c 'write -P 0x33 3M 64k' -c 'discard 3M 64k' -c 'read -P 0 3M 64k'
expect "qemu-io aio writes in flight on mem" qio "$MEM" \
  -c 'aio_write -P 0x21 4M 64k' -c 'aio_write -P 0x22 4160k 64k' -c 'aio_write -P 0x23 4224k 64k' \
  -c 'aio_flush' -c 'read -P 0x21 4M 64k' -c 'read -P 0x22 4160k 64k' -c 'read -P 0x23 4224k 64k'
expect "qemu-io data persists across connections" qio "$MEM" -c 'read -P 0xa5 0 64k'
expect_fail "qemu-io -P notices wrong data" qio "$MEM" -c 'read -P 0xa6 0 64k'
expect "qemu-io null: writes accepted, reads zeros" qio "$NULL" \
  -c 'write -P 0xff 0 64k' -c 'read -P 0 0 64k' -c 'write -z 1M 64k' -c 'discard 2M 64k' -c 'flush'
expect_fail "qemu-io read past the end" qio "$MEM" -c "read $((16 * MiB)) 512"
expect_fail "qemu-io cannot open read-only disk for writing" qio "$RO" -c 'write 0 1k'
expect "qemu-io -r reads read-only disk" qio -r "$RO" -c 'read -P 0 0 64k'

echo "== base:allocation (nbdinfo --map)"
# (convert filled the whole disk: discard the last 4 MiB back to holes first;
# write -z -u lets the server punch a hole, without -u qemu sends NO_HOLE).
expect "qemu-io sets up data, zeroed and discarded ranges" qio "$MEM" -c 'discard 12M 4M' \
  -c 'write -P 9 12M 64k' -c 'write -P 9 13M 64k' -c 'write -z -u 13M 64k' \
  -c 'write -P 9 14M 64k' -c 'discard 14M 64k' -c 'read -P 0 13M 64k' -c 'read -P 0 14M 64k'
nbdinfo --map --json "$MEM" >"$T/map.json" 2>&1 || not_ok "nbdinfo --map failed: $(cat "$T/map.json")"
# map_type OFFSET: the base:allocation type of the extent holding OFFSET
# (bit 0 hole, bit 1 zero).
map_type() { jq --argjson o "$1" '.[] | select(.offset <= $o and $o < .offset + .length) | .type' "$T/map.json"; }
expect_eq "written range is data" 0 "$(map_type $((12 * MiB)))"
expect_eq "zeroed range reads as zero" 2 "$(($(map_type $((13 * MiB))) & 2))"
expect_eq "discarded range reads as zero" 2 "$(($(map_type $((14 * MiB))) & 2))"
expect_eq "untouched range is a hole of zeros" 3 "$(map_type $((15 * MiB)))"
expect_eq "null disk: one extent, hole+zero" "1 3" \
  "$(nbdinfo --map --json "$NULL" | jq -r '"\(length) \(.[0].type)"')"

echo "== qemu-img bench (32 requests in flight through qemu's block layer)"
expect "qemu-img bench reads on null" qemu-img bench -f raw -c 4000 -d 32 -s 4k "$NULL"
expect "qemu-img bench writes on mem" qemu-img bench -f raw -w -c 2000 -d 32 -s 4k -S 8k "$MEM"

echo "== nbdcopy"
head -c $((16 * MiB)) /dev/urandom >"$T/src2.img"
expect "nbdcopy file -> mem" nbdcopy "$T/src2.img" "$MEM"
rm -f "$T/back2.img"
expect "nbdcopy mem -> file" nbdcopy "$MEM" "$T/back2.img"
expect "nbdcopy round trip identical" cmp "$T/src2.img" "$T/back2.img"
expect "nbdcopy null -> null:" nbdcopy "$NULL" null:
expect "nbdcopy null -> file" nbdcopy "$NULL" "$T/null.img"
expect "null disk copied as zeros" cmp "$T/null.img" "$T/zero64.img"
expect "nbdcopy file -> null (writes accepted)" nbdcopy "$T/src2.img" "$NULL"
expect "nbdcopy --request-size=4k --requests=32 mem -> null:" nbdcopy --request-size=4096 --requests=32 "$MEM" null:

echo "== fio (nbd engine)"
fio_job() {
  fio --name="$1" --ioengine=nbd --uri="$2" --rw="$3" --bs=4k --size=8M --iodepth=16 \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --output-format=terse --minimal "${@:4}"
}
expect "fio randwrite+verify on mem" fio_job vmem "$MEM" randwrite
expect "fio write+verify 64k on mem, 2 jobs" fio_job vmem2 "$MEM" write --bs=64k --numjobs=2 --offset_increment=8M
expect_fail "fio verify fails on null (writes dropped)" fio_job vnull "$NULL" randwrite
expect "fio randread on null" fio --name=rnull --ioengine=nbd --uri="$NULL" --rw=randread --bs=4k \
  --size=32M --iodepth=32 --minimal

checks_summary
