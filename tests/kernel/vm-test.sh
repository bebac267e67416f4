#!/usr/bin/env bash
# The kernel's NBD client against rnull, in a VM (this host has no nbd module).
# usage: vm-test.sh plugin|server [6.1|6.12]   (env RNULL_BUILD_DIR: the CMake build dir)
#   6.1 (default): Debian 12's kernel and nbd-client 3.24;
#   6.12: Debian 13's kernel and nbd-client 3.26, both from the trixie chroot
#         (tests/newest/trixie-chroot.sh), which must be available.
#
# Starts one front end per disk configuration below on Unix sockets in a temp
# dir, checks the -b `rnull-attach --dry-run` computes for each, and boots one
# Debian kernel under qemu (TCG) whose user-mode network forwards
# 10.0.2.100:<port> to those sockets and nowhere else (restrict=on). The
# guest's /init (guest-init.sh) attaches /dev/nbdN with rnull-attach (which
# runs the real nbd-client with the server's block size) and prints
# PASS/FAIL lines; this script fails on any FAIL or any missing check.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fe=${1:?usage: vm-test.sh plugin|server [6.1|6.12]}
series=${2:-6.1}
: "${RNULL_BUILD_DIR:?set RNULL_BUILD_DIR to the build dir}"
# shellcheck source=../lib/frontends.sh
. "$here/../lib/frontends.sh"

VM_TIMEOUT=${RNULL_VM_TIMEOUT:-300} # hang guard for the whole boot, seconds
MiB=1048576

require_frontend "$fe"
require_tool qemu-system-x86_64 busybox cpio socat nbd-client ss
[ -x "$RNULL_ATTACH" ] || skip "$RNULL_ATTACH not built"

# One disk per line: tag | engine keys | guest expectations
#   (size, bs = logical block size, rot, ro, mem, discard, zeros = MiB read;
#   optional conns, nl, bad, fs, gone, tls: see guest-init.sh; tls=1: the
#   front end runs with --tls=require and test certificates, the guest gets
#   the CA and client files in its initramfs).
# Together they cover each logical block size, both stores, rotational,
# read-only, discard on and off, each completion mode, nbd-client's netlink
# and ioctl interfaces, a multi-connection attach, a bad block, a filesystem,
# and a server that dies under an attached device.
configs=(
  "bs512-rot-null|size=64M blocksize=512 rotational=1 discard=0 irqmode=0|size=$((64 * MiB)),bs=512,rot=1,ro=0,mem=0,discard=0,zeros=64,gone=1"
  "bs1024-ro-bad|size=96M blocksize=1024 readonly=1 discard=0 irqmode=1 badblocks=131072-131079|size=$((96 * MiB)),bs=1024,rot=0,ro=1,mem=0,discard=0,zeros=16,nl=0,bad=131072"
  "bs2048-mem-timer|size=64M blocksize=2048 memory_backed=1 discard=1 irqmode=2 completion_nsec=20000 submit_queues=2|size=$((64 * MiB)),bs=2048,rot=0,ro=0,mem=1,discard=1,zeros=16,conns=2"
  "bs4096-mem|size=128M blocksize=4096 memory_backed=1 discard=1|size=$((128 * MiB)),bs=4096,rot=0,ro=0,mem=1,discard=1,zeros=64,fs=1,probe=1"
  "bs4096-mem-tls|size=32M blocksize=4096 memory_backed=1 discard=1|size=$((32 * MiB)),bs=4096,rot=0,ro=0,mem=1,discard=1,zeros=8,tls=1"
  # runtime=1: the front end starts with a control socket and only its
  # default disk; the disk the guest attaches (export "rt", 1024-byte
  # blocks, memory-backed) is created at run time with rnull-ctl.
  "runtime-bs1024|size=16M|size=$((48 * MiB)),bs=1024,rot=0,ro=0,mem=1,discard=1,zeros=16,name=rt,runtime=1"
)

kdir=$("$here/kernel-cache.sh" "$series")
rc=$?
[ $rc -eq 77 ] && skip "no $series kernel available (see kernel-cache.sh output above)"
[ $rc -eq 0 ] || die "kernel-cache.sh failed ($rc)"
append_client=""
if [ "$series" != 6.1 ]; then
  # Debian 13's nbd-client into the guest, and rnull-attach runs it.
  RNULL_GUEST_CHROOT=$("$here/../newest/trixie-chroot.sh") || skip "no trixie chroot for nbd-client 3.26"
  export RNULL_GUEST_CHROOT
  append_client=" rnull.nbdclient=/usr/bin/nbd-client-trixie"
fi

make_tmpdir "vm-$fe-$series"
cleanup() {
  frontend_cleanup
  rm -rf "$TMPDIR_TEST"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
certs=$TMPDIR_TEST/certs
bash "$here/../tls/make-certs.sh" "$certs" || die "make-certs.sh failed"
export RNULL_GUEST_TLS=$certs/client

"$here/make-initramfs.sh" "$kdir" "$here/guest-init.sh" "$TMPDIR_TEST/initramfs.cpio" "$RNULL_ATTACH" ||
  die "could not build the initramfs"

# field SPEC KEY: the value of KEY in a "k=v,k=v" spec.
field() { tr ',' '\n' <<<"$1" | sed -n "s/^$2=//p"; }

# kernel_at_least MAJOR MINOR: is the cached kernel that new?
kernel_at_least() {
  local r major minor
  r=$(cat "$kdir/release") major=${r%%.*} minor=${r#*.}
  minor=${minor%%.*}
  [ "$major" -gt "$1" ] || { [ "$major" -eq "$1" ] && [ "$minor" -ge "$2" ]; }
}

# The checks guest-init.sh prints for one disk, in order (mirror of its logic).
expected_checks() {
  local spec=$1 bs ro mem discard zeros
  bs=$(field "$spec" bs) ro=$(field "$spec" ro) mem=$(field "$spec" mem)
  discard=$(field "$spec" discard) zeros=$(field "$spec" zeros)
  [ "$(field "$spec" probe)" = 1 ] && echo nbd_client_without_b
  echo attach connections size logical_block_size flags
  kernel_at_least 6 12 && echo rotational
  echo readonly "reads_zeros_${zeros}MiB"
  [ "$bs" -gt 512 ] && echo small_direct_refused
  [ -n "$(field "$spec" bad)" ] && echo badblock_eio
  if [ "$ro" = 1 ]; then
    echo write_refused
  elif [ "$mem" = 1 ]; then
    echo write readback_buffered_write readback_direct_write untouched_reads_zeros zeroout
  else
    echo write null_drops_writes
  fi
  if [ "$discard" = 1 ]; then
    echo discard
    [ "$mem" = 1 ] && echo discard_reads_zeros
  else
    echo discard_refused
  fi
  [ "$(field "$spec" fs)" = 1 ] && echo filesystem
  [ "$(field "$spec" gone)" = 1 ] && echo io_fails_after_server_exit
  echo detach_size_zero
}

append="console=ttyS0 loglevel=1 panic=-1$append_client"
netdev="user,id=n0,restrict=on"
expected=()
host_failures=0
for i in "${!configs[@]}"; do
  IFS='|' read -r tag keys spec <<<"${configs[$i]}"
  tag="$fe-$tag"
  sock="$TMPDIR_TEST/d$i.sock"
  port=$((10809 + i))
  tlsopts=()
  if [ "$(field "$spec" tls)" = 1 ]; then
    FRONTEND_OPTS=(--tls=require "--tls-certificates=$certs/server")
    tlsopts=(--tls-certificates "$certs/client")
  fi
  namearg=()
  if [ "$(field "$spec" runtime)" = 1 ]; then
    [ "$fe" = plugin ] && keys+=" control=$sock.ctl" || keys+=" --control $sock.ctl"
    namearg=(-N "$(field "$spec" name)")
  fi
  # shellcheck disable=SC2086 # keys are word-split on purpose
  start_frontend_unix "$fe" "$sock" "$TMPDIR_TEST/d$i.log" $keys
  FRONTEND_OPTS=()
  if [ "$(field "$spec" runtime)" = 1 ]; then
    out=$("$RNULL_BUILD_DIR/rnull-ctl" --control "$sock.ctl" create "$(field "$spec" name)" \
      size=48M blocksize=1024 memory_backed=1 discard=1 2>&1) || die "rnull-ctl create: $out"
  fi
  # The host asks the server for -b exactly as a user would.
  cmd=$("$RNULL_ATTACH" --dry-run -unix "$sock" "/dev/nbd$i" "${tlsopts[@]}" "${namearg[@]}" 2>&1) ||
    die "rnull-attach failed: $cmd"
  b=$(sed -n 's/.* -b \([0-9]*\).*/\1/p' <<<"$cmd")
  want_bs=$(field "$spec" bs)
  if [ "$b" = "$want_bs" ]; then
    echo "PASS $tag rnull_attach_block_size ($cmd)"
  else
    echo "FAIL $tag rnull_attach_block_size: want -b $want_bs, got: $cmd"
    host_failures=$((host_failures + 1))
  fi
  append+=" rnull.dev$i=port=$port,$spec,tag=$tag"
  netdev+=",guestfwd=tcp:10.0.2.100:$port-cmd:socat - UNIX-CONNECT:$sock"
  # gone=1: the guest kills this server (a crash) by connecting to 10900+i (our PID only).
  [ "$(field "$spec" gone)" = 1 ] && netdev+=",guestfwd=tcp:10.0.2.100:$((10900 + i))-cmd:kill -KILL $FRONTEND_PID"
  for c in $(expected_checks "$spec"); do expected+=("$tag $c"); done
done

log="$TMPDIR_TEST/console.log"
echo "booting $(cat "$kdir/release") under TCG with ${#configs[@]} disks (hang guard ${VM_TIMEOUT}s)"
timeout "$VM_TIMEOUT" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nodefaults -no-reboot \
  -display none -serial stdio -kernel "$kdir/vmlinux" -initrd "$TMPDIR_TEST/initramfs.cpio" \
  -append "$append" -netdev "$netdev" -device virtio-net-pci,netdev=n0 </dev/null 2>&1 |
  tr -d '\r' | tee "$log"
qemu_rc=${PIPESTATUS[0]}
[ "$qemu_rc" -eq 124 ] && echo "FAIL: the VM did not power off within ${VM_TIMEOUT}s"

missing=0
for e in "${expected[@]}"; do
  grep -qx "PASS $e" "$log" || grep -q "^FAIL $e\( \|$\)" "$log" || {
    echo "FAIL (missing) $e"
    missing=$((missing + 1))
  }
done
fails=$(grep -c '^FAIL ' "$log")
passes=$(grep -c '^PASS ' "$log")
grep -qx DONE "$log" || { echo "FAIL: the guest did not reach DONE" && missing=$((missing + 1)); }
grep -h "^INFO .*nbd-client .* the block size" "$log" | sed 's/^INFO /recorded: /'
echo "guest: $passes passed, $fails failed, $missing missing of ${#expected[@]} expected; host: $host_failures failed"
if [ "$fails" -gt 0 ] || [ "$missing" -gt 0 ] || [ "$host_failures" -gt 0 ] || [ "$qemu_rc" -ne 0 ]; then
  for i in "${!configs[@]}"; do
    echo "--- front end log d$i:"
    tail -n 20 "$TMPDIR_TEST/d$i.log"
  done
  exit 1
fi
exit 0
