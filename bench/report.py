#!/usr/bin/env python3
"""Turn one bench/run results directory into a markdown table.

Each figure is the median over the run's repetitions. Ratios are written so
that > 1.00 always means "the rnull front end does better": throughput is
ours / peer, latency and copy time are peer / ours. The best peer is the
better of nbdkit null and qemu-nbd null-co for that row.
"""
import json
import os
import statistics
import sys

SERVERS = ["rnull-server", "plugin", "nbdkit-null", "qemu-nbd"]
TITLES = {"rnull-server": "rnull-server", "plugin": "nbdkit rnull.so",
          "nbdkit-null": "nbdkit null", "qemu-nbd": "qemu-nbd null-co"}
PEERS = ["nbdkit-null", "qemu-nbd"]

# (row label, source, field, unit, higher is better)
ROWS = [
    ("4k randread QD1", "randread-4k-qd1", "iops", "IOPS", True),
    ("4k randread QD1 p50", "randread-4k-qd1", "p50", "µs", False),
    ("4k randread QD1 p99", "randread-4k-qd1", "p99", "µs", False),
    ("4k randread QD32", "randread-4k-qd32", "iops", "IOPS", True),
    ("4k randread QD32, 2 conns", "randread-4k-qd32-2conn", "iops", "IOPS", True),
    ("4k randwrite QD32", "randwrite-4k-qd32", "iops", "IOPS", True),
    ("1M seq read QD8", "read-1m-qd8", "mibs", "MiB/s", True),
    ("1M seq write QD8", "write-1m-qd8", "mibs", "MiB/s", True),
    ("nbdcopy disk → null:", "nbdcopy", "seconds", "s", False),
    ("nbdcopy --no-extents → null:", "nbdcopy-no-extents", "seconds", "s", False),
]

# Targets of issue 3 for rnull-server: (row label, minimum ratio to best peer).
SERVER_TARGETS = [("4k randread QD32", 1.2), ("1M seq read QD8", 1.0),
                  ("4k randread QD1", 1.0), ("4k randread QD1 p50", 1.0)]
PLUGIN_TOLERANCE = 0.97  # the plugin within 3% of nbdkit null
RSS_TARGET_KIB = 16 * 1024


def load_fio(path):
    """IOPS, MiB/s and latency percentiles (µs) of one fio JSON output."""
    with open(path) as f:
        text = f.read()
    job = json.loads(text[text.index("{"):])["jobs"][0]
    if job.get("error") or job["read"]["total_ios"] + job["write"]["total_ios"] == 0:
        raise ValueError("fio run failed or did no I/O")
    d = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
    pct = d.get("lat_ns", {}).get("percentile", {})
    return {"iops": d["iops"], "mibs": d["bw_bytes"] / (1 << 20),
            "p50": pct.get("50.000000", 0) / 1000.0,
            "p99": pct.get("99.000000", 0) / 1000.0}


# Server CPU time per request: load-independent-ish efficiency, one row per
# fio workload (label, source).
CPU_ROWS = [("4k randread QD1", "randread-4k-qd1"), ("4k randread QD32", "randread-4k-qd32"),
            ("4k randread QD32, 2 conns", "randread-4k-qd32-2conn"),
            ("4k randwrite QD32", "randwrite-4k-qd32"), ("1M seq read QD8", "read-1m-qd8"),
            ("1M seq write QD8", "write-1m-qd8")]


def fio_cpu_percent(out, server, source):
    """Median over repetitions of fio's usr + sys CPU, as fio reports it."""
    return fio_stat(out, server, source, lambda job, ios: job["usr_cpu"] + job["sys_cpu"])


def fio_ctx_per_request(out, server, source):
    """Median over repetitions of fio's context switches per request."""
    return fio_stat(out, server, source, lambda job, ios: job["ctx"] / ios)


def fio_stat(out, server, source, get):
    """Median over repetitions of get(job, ios) from fio's JSON."""
    d = os.path.join(out, server)
    if not os.path.isdir(d):
        return None
    vals = []
    for name in sorted(os.listdir(d)):
        stem, _, ext = name.rpartition(".")
        base, _, rep = stem.rpartition(".")
        if ext != "json" or base != source or not rep.isdigit():
            continue
        try:
            with open(os.path.join(d, name)) as f:
                text = f.read()
            job = json.loads(text[text.index("{"):])["jobs"][0]
            ios = job["read"]["total_ios"] + job["write"]["total_ios"]
            if ios > 0:
                vals.append(get(job, ios))
        except (ValueError, KeyError, IndexError, OSError):
            continue
    return statistics.median(vals) if vals else None


def cpu_per_request(out, server, source):
    """Median over repetitions of server CPU µs per request, or None."""
    d = os.path.join(out, server)
    if not os.path.isdir(d):
        return None
    vals = []
    for name in sorted(os.listdir(d)):
        if not (name.startswith(source + ".") and name.endswith(".cpu")):
            continue
        rep = name[len(source) + 1:-len(".cpu")]
        if not rep.isdigit():
            continue
        try:
            with open(os.path.join(d, name)) as f:
                ticks, hz = (int(x) for x in f.read().split())
            with open(os.path.join(d, f"{source}.{rep}.json")) as f:
                text = f.read()
            job = json.loads(text[text.index("{"):])["jobs"][0]
            ios = job["read"]["total_ios"] + job["write"]["total_ios"]
            if ios > 0 and hz > 0 and ticks >= 0:
                vals.append(ticks / hz * 1e6 / ios)
        except (ValueError, KeyError, IndexError, OSError):
            continue
    return statistics.median(vals) if vals else None


def collect(out, server, source, field):
    """Median over repetitions, or None when nothing was measured."""
    d = os.path.join(out, server)
    if not os.path.isdir(d):
        return None
    vals = []
    for name in sorted(os.listdir(d)):
        stem, _, ext = name.rpartition(".")
        base, _, rep = stem.rpartition(".")
        if base != source or not rep.isdigit():
            continue
        path = os.path.join(d, name)
        try:
            if ext == "json":
                vals.append(load_fio(path)[field])
            elif ext == "txt":
                with open(path) as f:
                    vals.append(float(f.read()))
        except (ValueError, KeyError, IndexError, OSError):
            continue  # a failed run: leave it out, the log says why
    return statistics.median(vals) if vals else None


def fmt(v, unit):
    if v is None:
        return "—"
    if unit == "IOPS":
        return f"{v / 1000:.1f}k"
    if unit == "s":
        return f"{v:.2f}"
    return f"{v:.0f}" if v >= 100 else f"{v:.1f}"


def ratio(ours, theirs, higher):
    if ours is None or theirs is None or ours <= 0 or theirs <= 0:
        return None
    return ours / theirs if higher else theirs / ours


def fr(r):
    return "—" if r is None else f"{r:.2f}"


def best(vals, higher):
    vals = [v for v in vals if v is not None and v > 0]
    if not vals:
        return None
    return max(vals) if higher else min(vals)


def meta(out):
    m = {}
    try:
        with open(os.path.join(out, "meta.txt")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                m[k] = v
    except OSError:
        pass
    return m


def main():
    out = sys.argv[1]
    m = meta(out)
    lines = []
    w = lines.append
    w(f"Run {m.get('date', '?')} on {m.get('host', '?')}; fio and the servers share the cores.")
    w(f"Disk {m.get('size', '?')}, {m.get('runtime', '?')} s per workload, median of "
      f"{m.get('repeat', '?')} run(s); commit {m.get('commit', '?')}"
      + (f"; rnull options: `{m['rnull_args']}`" if m.get("rnull_args") else "") + ".")
    if m.get("load_start"):
        w(f"Load average (1, 5, 15 min) at start {m['load_start']}, at end {m.get('load_end', '?')}"
          " (anything well above 0 means other work shared the cores).")
    w(f"{m.get('fio', '')}, {m.get('nbdkit', '')}, {m.get('qemu_nbd', '')}, {m.get('nbdcopy', '')}.")
    w("")
    w("| Workload | Unit | " + " | ".join(TITLES[s] for s in SERVERS)
      + " | server ÷ best peer | plugin ÷ best peer | plugin ÷ nbdkit null |")
    w("|---|---|" + "---:|" * (len(SERVERS) + 3))
    results = {}
    for label, source, field, unit, higher in ROWS:
        v = {s: collect(out, s, source, field) for s in SERVERS}
        peer = best([v[p] for p in PEERS], higher)
        r_srv = ratio(v["rnull-server"], peer, higher)
        r_plg = ratio(v["plugin"], peer, higher)
        r_pn = ratio(v["plugin"], v["nbdkit-null"], higher)
        results[label] = (r_srv, r_plg, r_pn, source)
        w(f"| {label} | {unit} | " + " | ".join(fmt(v[s], unit) for s in SERVERS)
          + f" | {fr(r_srv)} | {fr(r_plg)} | {fr(r_pn)} |")
    w("")
    w("Ratios > 1.00 mean the rnull front end is better (throughput: ours ÷ peer; "
      "latency and time: peer ÷ ours). — means not measured (server missing or run failed).")

    w("")
    w("| Server CPU per request | Unit | " + " | ".join(TITLES[s] for s in SERVERS)
      + " | server ÷ best peer | plugin ÷ best peer | plugin ÷ nbdkit null |")
    w("|---|---|" + "---:|" * (len(SERVERS) + 3))
    cpu_results = {}
    for label, source in CPU_ROWS:
        v = {s: cpu_per_request(out, s, source) for s in SERVERS}
        peer = best([v[p] for p in PEERS], False)
        r = (ratio(v["rnull-server"], peer, False), ratio(v["plugin"], peer, False),
             ratio(v["plugin"], v["nbdkit-null"], False))
        cpu_results[label] = r
        w(f"| {label} | µs | " + " | ".join(fmt(v[s], "µs") for s in SERVERS)
          + " | " + " | ".join(fr(x) for x in r) + " |")
    w("")
    w("CPU per request = the server process's user + system time during the fio run "
      "(/proc/PID/stat, 10 ms ticks) ÷ requests fio completed. Less sensitive to other "
      "load than IOPS; ratios > 1.00 mean the rnull front end uses less CPU.")

    w("")
    w("| Client (fio): context switches per request, CPU % | "
      + " | ".join(TITLES[s] for s in SERVERS) + " |")
    w("|---|" + "---:|" * len(SERVERS))
    for label, source in CPU_ROWS:
        cells = []
        for srv in SERVERS:
            ctx = fio_ctx_per_request(out, srv, source)
            cpu = fio_cpu_percent(out, srv, source)
            cells.append("—" if ctx is None else f"{ctx:.2f}, {cpu:.0f}%")
        w(f"| {label} | " + " | ".join(cells) + " |")
    w("")
    w("How often the client (fio) went to sleep waiting for the server, per request "
      "(a server that answers in many small bursts wakes the client more often), and "
      "fio's usr + sys CPU as fio reports it: near 100% on a one-job row, the client "
      "is the bottleneck and the row no longer measures the server.")

    rss = []
    try:
        with open(os.path.join(out, "rss.tsv")) as f:
            rss = [r for r in (line.rstrip("\n").split("\t") for line in f)
                   if len(r) == 3 and r[1].isdigit() and r[2].isdigit()]
    except OSError:
        pass
    if rss:
        w("")
        w("| RSS after I/O, 1 PiB null disk | VmRSS | VmHWM (peak) |")
        w("|---|---:|---:|")
        for name, cur, peak in rss:
            w(f"| {TITLES.get(name, name)} | {int(cur) / 1024:.1f} MiB | {int(peak) / 1024:.1f} MiB |")

    w("")
    w("Targets (issue 3):")
    for label, want in SERVER_TARGETS:
        r = results[label][0]
        verdict = "not measured" if r is None else ("met" if r >= want else "NOT met")
        w(f"- rnull-server {label}: ≥ {want:.1f}× best peer: {fr(r)} ({verdict})")
    # p99 is left out: one scheduling hiccup moves it by far more than 3%.
    fio_rows = [(label, res[2]) for label, res in results.items()
                if not res[3].startswith("nbdcopy") and not label.endswith("p99")
                and res[2] is not None]
    if fio_rows:
        worst = min(fio_rows, key=lambda x: x[1])
        verdict = "met" if worst[1] >= PLUGIN_TOLERANCE else "NOT met"
        w(f"- plugin within 3% of nbdkit null on every fio row but p99: worst {worst[0]} "
          f"{worst[1]:.2f} ({verdict})")
    else:
        w("- plugin within 3% of nbdkit null: not measured")
    cpu_rows = [(label, r[2]) for label, r in cpu_results.items() if r[2] is not None]
    if cpu_rows:
        worst = min(cpu_rows, key=lambda x: x[1])
        verdict = "met" if worst[1] >= PLUGIN_TOLERANCE else "NOT met"
        w(f"- plugin CPU per request within 3% of nbdkit null: worst {worst[0]} "
          f"{worst[1]:.2f} ({verdict})")
    srv_rss = [r for r in rss if r[0] == "rnull-server"]
    if srv_rss:
        peak = int(srv_rss[0][2])
        verdict = "met" if peak < RSS_TARGET_KIB else "NOT met"
        w(f"- rnull-server RSS < 16 MiB on a 1 PiB disk: peak {peak / 1024:.1f} MiB ({verdict})")
    else:
        w("- rnull-server RSS < 16 MiB on a 1 PiB disk: not measured")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
