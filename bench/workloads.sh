# shellcheck shell=bash disable=SC2034 # sourced by bench/run, which uses the arrays
# Sourced by bench/run: the fio workloads, the same for every server.
# name -> fio arguments (besides engine, URI, runtime and output).
WORKLOADS=(randread-4k-qd1 randread-4k-qd32 randread-4k-qd32-2conn randwrite-4k-qd32 read-1m-qd8 write-1m-qd8)
declare -A WORKLOAD_ARGS=(
  [randread-4k-qd1]="--rw=randread --bs=4k --iodepth=1 --numjobs=1"
  [randread-4k-qd32]="--rw=randread --bs=4k --iodepth=32 --numjobs=1"
  # numjobs=2: two fio jobs, each with its own NBD connection and QD32.
  [randread-4k-qd32-2conn]="--rw=randread --bs=4k --iodepth=32 --numjobs=2"
  [randwrite-4k-qd32]="--rw=randwrite --bs=4k --iodepth=32 --numjobs=1"
  [read-1m-qd8]="--rw=read --bs=1M --iodepth=8 --numjobs=1"
  [write-1m-qd8]="--rw=write --bs=1M --iodepth=8 --numjobs=1"
)

# The clients: d12 is Debian 12's fio 3.33 with libnbd 1.14 (the host), d13
# Debian 13's fio 3.39 with libnbd 1.22 (the chroot of servers.sh).
CLIENTS=(d12 d13)
client_label() {
  case $1 in
    d12) echo "fio 3.33 / libnbd 1.14 (Debian 12)" ;;
    d13) echo "fio 3.39 / libnbd 1.22 (Debian 13)" ;;
  esac
}
client_ok() { [ "$1" = d12 ] || newest_ok; }

# run_fio SERVER WORKLOAD OUT.json [CLIENT]: one fio run of RUNTIME seconds.
# No ramp time: a null server has nothing to warm up, and the server's CPU
# time (read around the run) must cover exactly the I/Os fio counts.
run_fio() {
  local server=$1 wl=$2 out=$3 client=${4:-d12} guard sock cmd=(fio)
  # Hang guard only: a run normally ends after runtime.
  guard=$((RUNTIME + 60))
  sock=$(server_socket "$server")
  if [ "$client" = d13 ]; then
    cmd=(chroot "$NEWEST_ROOT" fio)
    sock=$(in_newest "$sock")
  fi
  # shellcheck disable=SC2086 # WORKLOAD_ARGS holds several words
  timeout -k 5 "$guard" "${cmd[@]}" --name="$wl" --ioengine=nbd --uri="nbd+unix:///?socket=$sock" \
    ${WORKLOAD_ARGS[$wl]} --group_reporting --time_based --runtime="$RUNTIME" \
    --lat_percentiles=1 --output-format=json >"$out" 2>"$out.log"
}

# run_nbdcopy SERVER OUT [EXTRA-ARGS]: copy the whole disk to null:, write
# the wall time in seconds to OUT.
run_nbdcopy() {
  local server=$1 out=$2 t0 t1
  shift 2
  t0=$(date +%s%N)
  if timeout -k 5 300 nbdcopy "$@" "$(server_uri "$server")" null: >"$out.log" 2>&1; then
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e9 }' >"$out"
  else
    return 1
  fi
}
