#!/usr/bin/env bash
# stats_dir (issue 20, item 1) against iostat's own output: a front end
# keeps DIR/diskstats and DIR/block/<disk>/stat for its command-line disk
# and its run-time disks; `iostat -x -d -f DIR -o JSON 1 3` under fio at a
# throttled rate (iops=1000, QD1, 4k, half reads) shows r/s + w/s ~ 1000
# (+-20%), each ~ 500 (+-30%), rkB/s = 4 r/s, await > 0, aqu-sz ~ 1, %util
# high and sane; a fixed load (1024 requests on a run-time disk) gives the
# exact counts and sectors of the disk's JSON statistics (rnull-ctl stats
# --json); a removed disk's directory goes. Rates come from the throttle
# key only; the bounds are generous.
# Both front ends: rnull-server --stats-dir (the flag), nbdkit rnull.so
# stats_dir= (the key).
# Usage: server-iostat.sh server RNULL_SERVER RNULL_CTL
#        server-iostat.sh plugin RNULL_PLUGIN_SO RNULL_CTL
set -uo pipefail
FE=$1
SERVER=$2
CTLBIN=$3
# shellcheck source=../lib/frontends.sh
. "$(dirname "$0")/../lib/frontends.sh"
require_tool iostat fio jq nbdinfo timeout
make_tmpdir iostat
T=$TMPDIR_TEST
PID=
trap test_cleanup EXIT
CTL=$T/control
SOCK=$T/nbd.sock
ST=$T/st
ctl() { timeout 60 "$CTLBIN" --control "$CTL" "$@"; }
uri() { echo "nbd+unix:///$1?socket=$SOCK"; }

if [ "$FE" = plugin ]; then
  require_tool nbdkit
  # shellcheck disable=SC2086 # VAR=value words on purpose
  env ${RNULL_NBDKIT_ENV:-} nbdkit -f -U "$SOCK" "$SERVER" control="$CTL" size=1G iops=1000 \
    stats_dir="$ST" >"$T/server.log" 2>&1 &
else
  "$SERVER" -f --unix "$SOCK" --control "$CTL" --stats-dir "$ST" size=1G iops=1000 \
    >"$T/server.log" 2>&1 &
fi
PID=$!
for _ in $(seq 100); do [ -S "$CTL" ] && nbdinfo --size "$(uri "")" >/dev/null 2>&1 && break; sleep 0.1; done
echo "front end: $FE"

# --- the files, for the command-line disk and a run-time one ---
expect "ctl create d1" ctl create d1 size=64M
expect "block/d1/stat appears" wait_until 5 test -f "$ST/block/d1/stat"
expect "block/rnullb0/stat is there" test -f "$ST/block/rnullb0/stat"
expect_eq "stat: 17 fields" 17 "$(wc -w <"$ST/block/rnullb0/stat")"
expect "diskstats lists both" wait_until 5 eval \
  "grep -q ' d1 ' '$ST/diskstats' && grep -q ' rnullb0 ' '$ST/diskstats'"
expect_eq "diskstats: major minor name + 17 fields" 20 \
  "$(awk '$3 == "rnullb0" { print NF }' "$ST/diskstats")"

# --- iostat under a throttled load ---
fio --name=t --ioengine=nbd --uri="$(uri "")" --rw=randrw --rwmixread=50 --bs=4k --iodepth=1 \
  --size=1G --time_based --runtime=6 >"$T/fio.log" 2>&1 &
FIO=$!
sleep 1
timeout 30 iostat -x -d -f "$ST" -o JSON 1 3 >"$T/iostat.json" 2>"$T/iostat.err"
wait "$FIO"
cat "$T/iostat.json" >"$T/iostat.log"
# the last report (the first is since boot): one field of one disk
io() {
  jq -r --arg d "$1" --arg f "$2" \
    '.sysstat.hosts[0].statistics[-1].disk[] | select(.disk_device == $d) | .[$f]' "$T/iostat.json"
}
# within NAME LOW HIGH VALUE (decimals)
within() {
  if awk -v l="$2" -v h="$3" -v v="$4" 'BEGIN { exit !(v != "" && v >= l && v <= h) }'; then
    ok "$1 = $4 in [$2, $3]"
  else
    not_ok "$1 = '$4', expected [$2, $3]"
  fi
}
rs=$(io rnullb0 r/s)
ws=$(io rnullb0 w/s)
within "iops=1000: r/s + w/s" 800 1200 "$(awk -v a="$rs" -v b="$ws" 'BEGIN { print a + b }')"
within "r/s" 350 650 "$rs"
within "w/s" 350 650 "$ws"
within "rkB/s / r/s (4k reads)" 3.9 4.1 "$(awk -v k="$(io rnullb0 rkB/s)" -v r="$rs" 'BEGIN { print k / r }')"
within "wkB/s / w/s (4k writes)" 3.9 4.1 "$(awk -v k="$(io rnullb0 wkB/s)" -v w="$ws" 'BEGIN { print k / w }')"
within "r_await (ms, throttled: > 0)" 0.01 100 "$(io rnullb0 r_await)"
within "w_await (ms)" 0.01 100 "$(io rnullb0 w_await)"
within "aqu-sz at QD1" 0.3 1.2 "$(io rnullb0 aqu-sz)"
within "%util, busy at QD1" 40 105 "$(io rnullb0 util)"
within "merges (rrqm/s) are 0" 0 0 "$(io rnullb0 rrqm/s)"
# iostat leaves out a disk with no I/O since "boot": absent counts as 0
d1rs=$(io d1 r/s)
d1util=$(io d1 util)
within "d1 idle: r/s (absent or 0)" 0 0 "${d1rs:-0}"
within "d1 idle: %util (absent or 0)" 0 0 "${d1util:-0}"

# --- exact counts for a fixed load: the stat file against the JSON ---
fio --name=f --ioengine=nbd --uri="$(uri d1)" --rw=randrw --rwmixread=50 --bs=4k --iodepth=4 \
  --size=64M --io_size=4M >"$T/fio2.log" 2>&1
expect_eq "fio fixed load" 0 $?
sleep 2.5 # two writer periods after the last request: both views are settled
read -r -a f <"$ST/block/d1/stat"
ctl stats d1 --json | sed '$d' >"$T/d1.json" # the last line is "ok"
j() { jq -r ".total.$1" "$T/d1.json"; }
expect_eq "reads + writes completed" 1024 $((f[0] + f[4]))
expect_eq "reads = JSON reads" "$(j reads)" "${f[0]}"
expect_eq "sectors read = bytes_read / 512" $(($(j bytes_read) / 512)) "${f[2]}"
expect_eq "writes = JSON writes + zeroes" $(($(j writes) + $(j zeroes))) "${f[4]}"
expect_eq "sectors written = bytes / 512" $((($(j bytes_written) + $(j bytes_zeroed)) / 512)) "${f[6]}"
expect_eq "sectors of 4k requests" $((8 * 1024)) $((f[2] + f[6]))
expect_eq "merges 0" "0 0" "${f[1]} ${f[5]}"
expect_eq "in flight 0" 0 "${f[8]}"
expect_eq "io_ticks = busy_ns / 1e6" $(($(j busy_ns) / 1000000)) "${f[9]}"
expect_eq "ms reading = read_ns / 1e6" $(($(j read_ns) / 1000000)) "${f[3]}"
expect_eq "flushes = JSON flushes" "$(j flushes)" "${f[15]}"
expect "time_in_queue >= ms reading + writing" test "${f[10]}" -ge $((f[3] + f[7]))

# --- a removed disk goes ---
expect "ctl power d1 off" ctl power d1 off
expect "block/d1 goes when d1 powers off" wait_until 5 eval "! test -e '$ST/block/d1'"
expect "diskstats without d1" wait_until 5 eval "! grep -q ' d1 ' '$ST/diskstats'"
expect "rnullb0 stays" test -f "$ST/block/rnullb0/stat"
checks_summary
