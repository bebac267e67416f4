#!/bin/sh
# shellcheck disable=SC2086 # $copts and sysfs paths are split on purpose
# /init of the rnull kernel VM test (busybox sh, PID 1).
# Attaches one NBD export per rnull.devN= kernel parameter with rnull-attach
# (which asks the server for its block size and execs the real nbd-client),
# checks what the kernel made of it and prints one
# "PASS <tag> <check>" or "FAIL <tag> <check> <why>" line per check on the
# serial console, then "DONE" and powers off. The host parses those lines.
#
# rnull.devN=port=P,bs=B,size=S,rot=0|1,ro=0|1,mem=0|1,discard=0|1,zeros=MIB,conns=C,nl=0|1,bad=SECTOR,tag=T
#   the configured values the kernel's view must match; conns > 1 attaches
#   with nbd-client -C (one socket per connection), nl=0 with -nonetlink
#   (the older ioctl interface: nbd-client stays as the device's daemon);
#   bad: first of 8 bad sectors configured on the server (reads there fail);
#   fs=1: last, an ext2 filesystem is made, written, remounted and read back;
#   gone=1: then the server dies (see check_server_gone) and I/O must fail
#   rather than hang;
#   probe=1: first, plain nbd-client without -b: records whether it asks the
#   server for the block size (see probe_block_size);
#   tls=1: the server requires TLS: rnull-attach --tls-certificates with the
#   CA and client files of the initramfs (/etc/rnull/tls), for its own
#   question and for nbd-client (whose TLS proxy then carries the device).
#   name=N: attach the export N (rnull-attach -N): a disk created at run time
#   through the front end's control socket.
# rnull.nbdclient=PATH: the nbd-client rnull-attach runs (default
#   /usr/sbin/nbd-client; /usr/bin/nbd-client-trixie is Debian 13's 3.26).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug

HOST=10.0.2.100
MIB=1048576
failures=0

pass() { echo "PASS $tag $1"; }
fail() {
  echo "FAIL $tag $1 $2"
  failures=$((failures + 1))
}
# check NAME WANT GOT
check_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "want=$2 got=$3"; fi
}
drop_caches() {
  sync
  echo 3 >/proc/sys/vm/drop_caches
}
# reads_zeros DEV OFFSET_MIB COUNT_MIB: O_DIRECT reads, compared with /dev/zero
reads_zeros() {
  /usr/bin/dd if="$1" bs=1M skip="$2" count="$3" iflag=direct status=none |
    /usr/bin/cmp -s -n $(($3 * MIB)) - /dev/zero
}

# reads_zeros_4k DEV BLOCK: one O_DIRECT 4 KiB read at BLOCK, all zeros
reads_zeros_4k() {
  /usr/bin/dd if="$1" bs=4k skip="$2" count=1 iflag=direct status=none |
    /usr/bin/cmp -s -n 4096 - /dev/zero
}

# check_filesystem DEV: what a user does with a disk: mkfs, files, unmount,
# forget every cached page, mount again, same files.
check_filesystem() {
  mkdir -p /mnt
  head -c 300000 /dev/urandom >/tmp/small
  if ! mke2fs -q -b 4096 "$1" >/tmp/fs.log 2>&1 || ! mount -t ext2 "$1" /mnt 2>>/tmp/fs.log; then
    fail filesystem "mke2fs/mount: $(tr '\n' ' ' </tmp/fs.log)"
    return
  fi
  mkdir -p /mnt/d && cp /tmp/pattern /mnt/d/pattern && cp /tmp/small /mnt/small
  md5sum /mnt/d/pattern /mnt/small >/tmp/sums
  umount /mnt
  drop_caches
  if mount -t ext2 -o ro "$1" /mnt && md5sum -c /tmp/sums >/tmp/fs.log 2>&1; then
    pass filesystem
  else
    fail filesystem "files differ after remount: $(tr '\n' ' ' </tmp/fs.log)"
  fi
  umount /mnt 2>/dev/null
}

# established DPORT: the guest's ESTABLISHED sockets to 10.0.2.100:DPORT
# (/proc/net/tcp: hex, little-endian IP; state 01).
established() {
  grep -c " 6402000A:$(printf %04X "$1") 01 " /proc/net/tcp
}

# check_server_gone DEV PORT: the server dies (a connection to 10900+N makes
# the host SIGKILL it) under an attached device. Once the kernel has seen the
# socket close, reads fail with EIO at once instead of hanging. (A request
# already in flight when the server dies waits for nbd-client's -t timeout:
# the kernel's behaviour, not tested here.)
check_server_gone() {
  nc $HOST $((10900 + n)) </dev/null >/dev/null 2>&1
  i=0
  while [ "$(established "$2")" != 0 ] && [ $i -lt 200 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  if [ "$(established "$2")" != 0 ]; then
    fail io_fails_after_server_exit "connection still established 20 s after the kill"
    return
  fi
  timeout 20 /usr/bin/dd if="$1" of=/dev/null bs=4k count=1 iflag=direct status=none 2>/dev/null
  rc=$?
  if [ $rc = 0 ]; then
    fail io_fails_after_server_exit "read succeeded after the server died"
  elif [ $rc -ge 124 ]; then
    fail io_fails_after_server_exit "read hung (status $rc)"
  else
    pass io_fails_after_server_exit
  fi
}

# load MODULE [ARGS]: modprobe, or nothing to do when it is built in
# (Debian 13 builds the virtio core in).
load() {
  grep -q "/$1.ko\$" /lib/modules/"$release"/modules.builtin 2>/dev/null || modprobe "$@"
}

setup_network() {
  load virtio_pci && load virtio_net || return 1
  ip link set lo up
  ip link set eth0 up || return 1
  ip addr add 10.0.2.15/24 dev eth0 || return 1
  load nbd nbds_max=8 && load crc32c_generic && load ext4
}

# probe_block_size DEV PORT BS: nbd-client on its own, without -b. If the
# kernel then has the server's block size, nbd-client asked for it
# (NBD_INFO_BLOCK_SIZE); if it has 512, its default, it did not, and
# rnull-attach's -b is what gives the device the configured sector size.
probe_block_size() {
  if ! $NBDCLIENT $HOST "$2" "$1" -t 60 >/tmp/probe.log 2>&1; then
    fail nbd_client_without_b "$NBDCLIENT: $(tr '\n' ' ' </tmp/probe.log)"
    return
  fi
  got=$(/usr/sbin/blockdev --getss "$1")
  case $got in
  "$3") echo "INFO $tag nbd-client $nbdclient_version asks the server for the block size: $got" ;;
  512) echo "INFO $tag nbd-client $nbdclient_version does not ask the server for the block size: 512, not $3" ;;
  esac
  if [ "$got" = "$3" ] || [ "$got" = 512 ]; then pass nbd_client_without_b; else fail nbd_client_without_b "block size $got"; fi
  $NBDCLIENT -d "$1" >/dev/null 2>&1
  i=0
  while [ "$(cat /sys/block/${1#/dev/}/size)" != 0 ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
}

check_device() {
  n=$1 spec=$2
  name='' port='' bs='' size='' rot=0 conns=1 nl=1 bad='' fs=0 gone=0 probe=0 tls=0 ro=0 mem=0 discard=0 zeros=64 tag=dev$n
  oldifs=$IFS
  IFS=,
  for kv in $spec; do
    case $kv in
    port=*) port=${kv#*=} ;; conns=*) conns=${kv#*=} ;; bs=*) bs=${kv#*=} ;; size=*) size=${kv#*=} ;;
    rot=*) rot=${kv#*=} ;; ro=*) ro=${kv#*=} ;; mem=*) mem=${kv#*=} ;;
    discard=*) discard=${kv#*=} ;; zeros=*) zeros=${kv#*=} ;; tag=*) tag=${kv#*=} ;;
    nl=*) nl=${kv#*=} ;; bad=*) bad=${kv#*=} ;; fs=*) fs=${kv#*=} ;; gone=*) gone=${kv#*=} ;;
    probe=*) probe=${kv#*=} ;; tls=*) tls=${kv#*=} ;; name=*) name=${kv#*=} ;;
    esac
  done
  IFS=$oldifs
  dev=/dev/nbd$n
  q=/sys/block/nbd$n/queue

  # -t: a request the server never answers fails after 60 s instead of
  # hanging the guest until the host's hang guard.
  copts="-t 60"
  [ "$conns" -gt 1 ] && copts="$copts -C $conns"
  [ "$nl" = 0 ] && copts="$copts -nonetlink"
  [ "$tls" = 1 ] && copts="$copts --tls-certificates /etc/rnull/tls"
  [ -n "$name" ] && copts="$copts -N $name" # a disk created at run time: its export name
  [ "$probe" = 1 ] && probe_block_size "$dev" "$port" "$bs"
  echo "INFO $tag $(/usr/bin/rnull-attach --nbd-client $NBDCLIENT --dry-run $HOST "$port" "$dev" $copts 2>&1)"
  if ! /usr/bin/rnull-attach --nbd-client $NBDCLIENT $HOST "$port" "$dev" $copts >/tmp/attach.log 2>&1; then
    fail attach "rnull-attach: $(tr '\n' ' ' </tmp/attach.log)"
    return
  fi
  pass attach
  check_eq connections "$conns" "$(established "$port")"

  check_eq size "$size" "$(/usr/sbin/blockdev --getsize64 "$dev")"
  check_eq logical_block_size "$bs" "$(/usr/sbin/blockdev --getss "$dev")"
  echo "INFO $tag physical_block_size=$(/usr/sbin/blockdev --getpbsz "$dev")" \
    "max_sectors_kb=$(cat $q/max_sectors_kb) discard_max_bytes=$(cat $q/discard_max_bytes)"
  # The flags the kernel got from nbd-client (debugfs "Hex: 0x..."): bit 1
  # READ_ONLY, 4 ROTATIONAL, 5 SEND_TRIM.
  flags=$(sed -n 's/^Hex: //p' /sys/kernel/debug/nbd/nbd$n/flags)
  check_eq flags "ro=$ro rot=$rot trim=$discard" \
    "ro=$((flags >> 1 & 1)) rot=$((flags >> 4 & 1)) trim=$((flags >> 5 & 1))"
  # Linux honours NBD_FLAG_ROTATIONAL in the queue only from 6.12 on.
  if [ "$major" -gt 6 ] || { [ "$major" -eq 6 ] && [ "$minor" -ge 12 ]; }; then
    check_eq rotational "$rot" "$(cat $q/rotational)"
  else
    echo "INFO $tag queue/rotational=$(cat $q/rotational) (Linux $major.$minor ignores NBD_FLAG_ROTATIONAL)"
  fi
  check_eq readonly "$ro" "$(/usr/sbin/blockdev --getro "$dev")"

  if reads_zeros "$dev" 0 "$zeros"; then pass "reads_zeros_${zeros}MiB"; else fail "reads_zeros_${zeros}MiB" "O_DIRECT read differs from zeros"; fi

  # The kernel itself refuses O_DIRECT smaller than the logical block.
  if [ "$bs" -gt 512 ]; then
    if /usr/bin/dd if="$dev" of=/dev/null bs=512 count=1 iflag=direct status=none 2>/dev/null; then
      fail small_direct_refused "512-byte O_DIRECT read succeeded on a $bs-byte device"
    else
      pass small_direct_refused
    fi
  fi

  # A bad block on the server reaches the kernel as an I/O error, its
  # neighbours read fine.
  if [ -n "$bad" ]; then
    if /usr/bin/dd if="$dev" of=/dev/null bs=4k skip=$((bad / 8)) count=1 iflag=direct status=none 2>/dev/null; then
      fail badblock_eio "read of bad sector $bad succeeded"
    elif ! reads_zeros_4k "$dev" $((bad / 8 + 1)) || ! reads_zeros_4k "$dev" $((bad / 8 - 1)); then
      fail badblock_eio "blocks next to bad sector $bad failed"
    else
      pass badblock_eio
    fi
  fi

  head -c $MIB /dev/urandom >/tmp/pattern
  tail -c $((MIB / 2)) /tmp/pattern >/tmp/pattern-tail
  if [ "$ro" = 1 ]; then
    if /usr/bin/dd if=/tmp/pattern of="$dev" bs=64k oflag=direct status=none 2>/dev/null; then
      fail write_refused "O_DIRECT write to a read-only device succeeded"
    else
      pass write_refused
    fi
  else
    # Buffered write + fsync at 3 MiB, direct write at 5 MiB; read both back
    # after dropping the page cache, each through the other path.
    w1=$(/usr/bin/dd if=/tmp/pattern of="$dev" bs=64k seek=48 conv=fsync status=none 2>&1)
    w2=$(/usr/bin/dd if=/tmp/pattern of="$dev" bs=64k seek=80 oflag=direct status=none 2>&1)
    if [ -z "$w1$w2" ]; then pass write; else fail write "$w1 $w2"; fi
    drop_caches
    if [ "$mem" = 1 ]; then
      if /usr/bin/dd if="$dev" bs=1M skip=3 count=1 iflag=direct status=none | /usr/bin/cmp -s - /tmp/pattern; then
        pass readback_buffered_write
      else
        fail readback_buffered_write "pattern written at 3 MiB did not read back"
      fi
      if /usr/bin/dd if="$dev" bs=1M skip=5 count=1 status=none | /usr/bin/cmp -s - /tmp/pattern; then
        pass readback_direct_write
      else
        fail readback_direct_write "pattern written at 5 MiB did not read back"
      fi
      if reads_zeros "$dev" 4 1; then pass untouched_reads_zeros; else fail untouched_reads_zeros "4 MiB region not zero"; fi
      # BLKZEROOUT (write zeroes, or zero pages where the driver lacks it) on
      # the first half of the 5 MiB pattern.
      if /usr/sbin/blkdiscard -z -o $((5 * MIB)) -l $((MIB / 2)) "$dev" && drop_caches &&
        /usr/bin/dd if="$dev" bs=512k skip=10 count=1 iflag=direct status=none | /usr/bin/cmp -s -n $((MIB / 2)) - /dev/zero &&
        /usr/bin/dd if="$dev" bs=512k skip=11 count=1 iflag=direct status=none | /usr/bin/cmp -s - /tmp/pattern-tail; then
        pass zeroout
      else
        fail zeroout "zeroed half not zero or other half changed"
      fi
    else
      if reads_zeros "$dev" 3 3; then pass null_drops_writes; else fail null_drops_writes "null store returned written data"; fi
    fi
  fi

  if [ "$discard" = 1 ]; then
    if [ "$(cat $q/discard_max_bytes)" -gt 0 ] && /usr/sbin/blkdiscard -o $((3 * MIB)) -l $MIB "$dev"; then
      pass discard
      if [ "$mem" = 1 ]; then
        drop_caches
        if reads_zeros "$dev" 3 1; then pass discard_reads_zeros; else fail discard_reads_zeros "discarded range not zero"; fi
      fi
    else
      fail discard "discard_max_bytes=$(cat $q/discard_max_bytes) or blkdiscard failed"
    fi
  else
    if /usr/sbin/blkdiscard -o 0 -l $MIB "$dev" 2>/dev/null; then
      fail discard_refused "blkdiscard succeeded without discard=1"
    else
      pass discard_refused
    fi
  fi

  [ "$fs" = 1 ] && check_filesystem "$dev"
  [ "$gone" = 1 ] && check_server_gone "$dev" "$port"

  $NBDCLIENT -d "$dev" >/tmp/detach.log 2>&1 || fail detach "nbd-client -d: $(cat /tmp/detach.log)"
  i=0
  while [ "$(cat /sys/block/nbd$n/size)" != 0 ] && [ $i -lt 50 ]; do
    sleep 0.1
    i=$((i + 1))
  done
  check_eq detach_size_zero 0 "$(cat /sys/block/nbd$n/size)"
}

release=$(cat /proc/sys/kernel/osrelease)
major=${release%%.*}
minor=${release#*.}
minor=${minor%%.*}
NBDCLIENT=/usr/sbin/nbd-client
for kv in $(cat /proc/cmdline); do
  case $kv in rnull.nbdclient=*) NBDCLIENT=${kv#*=} ;; esac
done
nbdclient_version=$($NBDCLIENT -V 2>&1 | sed -n 's/.*nbd \([0-9][0-9.]*\).*/\1/p' | head -n 1)
echo "BOOTED $release at $(cut -d" " -f1 /proc/uptime) s; nbd-client $nbdclient_version ($NBDCLIENT)"
if setup_network; then
  for kv in $(cat /proc/cmdline); do
    case $kv in
    rnull.dev[0-9]=*)
      n=${kv#rnull.dev}
      n=${n%%=*}
      check_device "$n" "${kv#*=}"
      ;;
    esac
  done
else
  tag=guest
  fail setup "network or nbd module setup failed"
fi
if [ "$failures" -gt 0 ]; then
  dmesg | tail -n 30 | sed 's/^/LOG /'
fi
echo "INFO guest done at $(cut -d" " -f1 /proc/uptime) s"
echo DONE
sync
poweroff -f
