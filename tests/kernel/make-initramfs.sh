#!/usr/bin/env bash
# Builds the VM test's initramfs: busybox, the modules for virtio-net and nbd
# (with a modules.dep from busybox depmod), nbd-client and the GNU tools the
# checks need (busybox dd drops O_DIRECT silently on EINVAL), each with the
# libraries ldd names, and the /init script. Written uncompressed: unpacking
# gzip under TCG costs seconds.
# usage: make-initramfs.sh KERNEL_DIR INIT_SCRIPT OUT.cpio [EXTRA_BINARY...]
#   each EXTRA_BINARY (e.g. rnull-attach) lands in the guest's /usr/bin.
# env RNULL_GUEST_TLS=DIR: DIR's ca-cert.pem, client-cert.pem, client-key.pem
#   land in the guest's /etc/rnull/tls (rnull-attach --tls-certificates).
# env RNULL_GUEST_CHROOT=DIR: also DIR's nbd-client (Debian 13's 3.26 from the
#   trixie chroot) with DIR's libraries and loader, under /trixie in the
#   guest, run by /usr/bin/nbd-client-trixie.
set -euo pipefail

kdir=$1 init=$2 out=$3
shift 3
extras=("$@")
release=$(cat "$kdir/release")
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,run}
cp /bin/busybox "$stage/bin/busybox"
for applet in sh mount umount mkdir cat echo sleep ip modprobe insmod dmesg poweroff \
              head tail grep sed cut seq tr wc md5sum sync test [ printf ls sysctl mke2fs nc timeout; do
  ln -s busybox "$stage/bin/$applet"
done

# copy_with_libs SRC DEST: a binary and the libraries ldd names, at their host paths.
copy_with_libs() {
  [ -x "$1" ] || { echo "make-initramfs: $1 missing (packaging/deps.sh)" >&2; exit 1; }
  mkdir -p "$stage$(dirname "$2")"
  cp -L "$1" "$stage$2"
  ldd "$1" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | while read -r lib; do
    mkdir -p "$stage$(dirname "$lib")"
    cp -Ln "$lib" "$stage$lib"
  done
}
# GNU tools by full path in the guest.
for t in /usr/sbin/nbd-client /usr/bin/dd /usr/bin/cmp /usr/sbin/blockdev /usr/sbin/blkdiscard; do
  copy_with_libs "$t" "$t"
done
for t in "${extras[@]}"; do
  copy_with_libs "$t" "/usr/bin/$(basename "$t")"
done

# Another distribution's nbd-client: its libraries stay apart (/trixie/...)
# and its own loader runs it.
if [ -n "${RNULL_GUEST_CHROOT:-}" ]; then
  r=$RNULL_GUEST_CHROOT
  mkdir -p "$stage/trixie/usr/sbin"
  cp -L "$r/usr/sbin/nbd-client" "$stage/trixie/usr/sbin/nbd-client"
  libdirs=""
  for lib in $(chroot "$r" ldd /usr/sbin/nbd-client | awk '/=> \//{print $3} /^\t\/lib/{print $1}'); do
    mkdir -p "$stage/trixie$(dirname "$lib")"
    cp -L "$r$lib" "$stage/trixie$lib"
    case ":$libdirs:" in *":/trixie$(dirname "$lib"):"*) ;; *) libdirs+="${libdirs:+:}/trixie$(dirname "$lib")" ;; esac
  done
  loader=$(chroot "$r" ldd /usr/sbin/nbd-client | awk '/^\t\/lib/{print $1}')
  printf '#!/bin/sh\nexec /trixie%s --library-path %s /trixie/usr/sbin/nbd-client "$@"\n' \
    "$loader" "$libdirs" >"$stage/usr/bin/nbd-client-trixie"
  chmod 755 "$stage/usr/bin/nbd-client-trixie"
fi

# Modules: virtio PCI + virtio-net for the user-mode network, nbd for the
# disk, ext4 (which mounts ext2 too) for a filesystem on it.
mods=(drivers/block/nbd.ko drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko
      drivers/virtio/virtio_pci.ko drivers/virtio/virtio_pci_legacy_dev.ko
      drivers/virtio/virtio_pci_modern_dev.ko drivers/net/virtio_net.ko
      drivers/net/net_failover.ko net/core/failover.ko
      fs/ext4/ext4.ko fs/jbd2/jbd2.ko fs/mbcache.ko lib/crc16.ko crypto/crc32c_generic.ko)
# Debian 13 ships them xz-compressed (busybox insmod reads plain .ko only) and
# builds the virtio core in: modules.builtin tells the guest.
mdir="$stage/lib/modules/$release"
for m in "${mods[@]}"; do
  mkdir -p "$mdir/kernel/$(dirname "$m")"
  if [ -f "$kdir/modules/kernel/$m" ]; then
    cp "$kdir/modules/kernel/$m" "$mdir/kernel/$m"
  elif [ -f "$kdir/modules/kernel/$m.xz" ]; then
    xz -dc "$kdir/modules/kernel/$m.xz" >"$mdir/kernel/$m"
  elif grep -qx "kernel/$m" "$kdir/modules/modules.builtin"; then
    continue
  else
    echo "make-initramfs: $m neither a module nor built in" >&2
    exit 1
  fi
done
cp "$kdir/modules/modules.builtin" "$mdir/modules.builtin"
busybox depmod -b "$stage" "$release"
# Every dependency depmod found must be one we copied, or modprobe fails late.
tr ' ' '\n' <"$mdir/modules.dep" | tr -d ':' | grep . | sort -u | while read -r dep; do
  [ -f "$mdir/$dep" ] || { echo "make-initramfs: missing module dependency $dep" >&2; exit 1; }
done

if [ -n "${RNULL_GUEST_TLS:-}" ]; then
  mkdir -p "$stage/etc/rnull/tls"
  cp "$RNULL_GUEST_TLS"/{ca-cert.pem,client-cert.pem,client-key.pem} "$stage/etc/rnull/tls/"
fi

cp "$init" "$stage/init"
chmod 755 "$stage/init"
(cd "$stage" && find . | LC_ALL=C sort | cpio --quiet -o -H newc) >"$out.tmp"
mv "$out.tmp" "$out"
