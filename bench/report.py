#!/usr/bin/env python3
"""Turn one bench/run results directory into markdown tables.

Layout read: OUT/meta.txt, OUT/<client>/<server>/<workload>.<round>.json and
.cpu, OUT/nbdcopy/<server>/<copy>.<round>.txt, OUT/rss.tsv.

Every figure is the median over the rounds, with the range (min-max) beside
it. Ratios are paired: within a round, each server's figure is divided by the
ceiling's (or a peer's) from the same round, and the median and range of
those per-round ratios are shown. A ratio > 1.00 always means the first
server does better (throughput: ours / theirs; latency, time, CPU: theirs /
ours).
"""
import json
import os
import statistics
import sys

WORKLOADS = {  # name -> (title, headline field, unit)
    "randread-4k-qd1": ("4k randread QD1", "iops", "IOPS"),
    "randread-4k-qd32": ("4k randread QD32", "iops", "IOPS"),
    "randread-4k-qd32-2conn": ("4k randread QD32, 2 conns", "iops", "IOPS"),
    "randwrite-4k-qd32": ("4k randwrite QD32", "iops", "IOPS"),
    "read-1m-qd8": ("1M seq read QD8", "mibs", "MiB/s"),
    "write-1m-qd8": ("1M seq write QD8", "mibs", "MiB/s"),
}
COPIES = [("nbdcopy", "nbdcopy disk → null:"), ("nbdcopy-no-extents", "nbdcopy --no-extents → null:")]
RSS_TARGET_KIB = 16 * 1024


def load_meta(out):
    meta = {}
    try:
        with open(os.path.join(out, "meta.txt")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("=")
                meta[k] = v
    except OSError:
        pass
    return meta


def load_perf_count(path, event):
    """The count of EVENT in a `perf stat -x,` output file, or None."""
    try:
        with open(path) as f:
            for line in f:
                fields = line.strip().split(",")
                if len(fields) > 2 and fields[2] == event and fields[0].isdigit():
                    return int(fields[0])
    except OSError:
        pass
    return None


def load_run(path, cpu_path):
    """One fio run: headline figures, latency, CPU and context switches."""
    with open(path) as f:
        text = f.read()
    job = json.loads(text[text.index("{"):])["jobs"][0]
    ios = job["read"]["total_ios"] + job["write"]["total_ios"]
    if job.get("error") or ios == 0:
        raise ValueError("fio run failed or did no I/O")
    d = job["read"] if job["read"]["io_bytes"] > 0 else job["write"]
    pct = d.get("lat_ns", {}).get("percentile", {})
    r = {"iops": d["iops"], "mibs": d["bw_bytes"] / (1 << 20),
         "p50": pct.get("50.000000", 0) / 1000.0, "p99": pct.get("99.000000", 0) / 1000.0,
         "cctx": job["ctx"] / ios, "ccpu": job["usr_cpu"] + job["sys_cpu"]}
    sctx = load_perf_count(cpu_path[:-len(".cpu")] + ".sctx", "context-switches")
    if sctx is not None:
        r["sctx"] = sctx / ios
    try:
        with open(cpu_path) as f:
            ticks, hz = (int(x) for x in f.read().split())
        r["scpu"] = ticks / hz * 1e6 / ios
        r["sload"] = r["scpu"] * (job["read"]["iops"] + job["write"]["iops"]) / 1e4
    except (OSError, ValueError):
        pass
    return r


def load_all(out, meta):
    """data[client][server][workload] = {round: run}"""
    data = {}
    for c in meta.get("clients", "").split():
        for s in meta.get("servers", "").split():
            for wl in WORKLOADS:
                d = os.path.join(out, c, s)
                if not os.path.isdir(d):
                    continue
                for name in os.listdir(d):
                    if not name.startswith(wl + ".") or not name.endswith(".json"):
                        continue
                    rnd = name[len(wl) + 1:-len(".json")]
                    if not rnd.isdigit():
                        continue
                    try:
                        run = load_run(os.path.join(d, name),
                                       os.path.join(d, f"{wl}.{rnd}.cpu"))
                    except (ValueError, KeyError, IndexError, OSError):
                        continue  # a failed run: its log says why
                    data.setdefault(c, {}).setdefault(s, {}).setdefault(wl, {})[int(rnd)] = run
    return data


def stat(vals):
    """(median, min, max) or None"""
    vals = [v for v in vals if v is not None]
    return (statistics.median(vals), min(vals), max(vals)) if vals else None


def per_round(data, c, s, wl, field):
    runs = data.get(c, {}).get(s, {}).get(wl, {})
    return {r: v.get(field) for r, v in runs.items() if v.get(field) is not None}


def paired(data, c, a, b, wl, field, higher_better=True):
    """Median and range of a / b (or b / a) over the rounds both have."""
    ra, rb = per_round(data, c, a, wl, field), per_round(data, c, b, wl, field)
    rs = []
    for r in sorted(set(ra) & set(rb)):
        x, y = (ra[r], rb[r]) if higher_better else (rb[r], ra[r])
        if y > 0:
            rs.append(x / y)
    return stat(rs)


def fmt(v, unit, rng=True):
    if v is None:
        return "—"
    m, lo, hi = v

    def one(x):
        if unit == "IOPS":
            return f"{x / 1000:.1f}k"
        if unit in ("MiB/s",):
            return f"{x:.0f}"
        if unit == "ratio":
            return f"{x:.2f}"
        if unit == "s":
            return f"{x:.2f}"
        if x >= 100:
            return f"{x:.0f}"
        return f"{x:.1f}" if x >= 10 else f"{x:.2f}"
    if not rng or lo == hi:
        return one(m)
    return f"{one(m)} ({one(lo)}–{one(hi)})"


def workload_table(data, meta, c, wl, servers):
    title, field, unit = WORKLOADS[wl]
    lines = [f"#### {title}, {meta.get('client_' + c, c)}", "",
             f"| Server | {unit} | ÷ ceiling | p50 µs | p99 µs | server CPU µs/req | "
             "server CPU % | server switches/req | client wake-ups/req | client CPU % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in servers:
        if not data.get(c, {}).get(s, {}).get(wl):
            continue

        def col(f):
            return stat(per_round(data, c, s, wl, f).values())
        lines.append("| " + " | ".join([
            meta.get("label_" + s, s), fmt(col(field), unit),
            fmt(paired(data, c, s, "ceiling", wl, field), "ratio"),
            fmt(col("p50"), "µs"), fmt(col("p99"), "µs"), fmt(col("scpu"), "µs"),
            fmt(col("sload"), "%"), fmt(col("sctx"), "n"),
            fmt(col("cctx"), "n"), fmt(col("ccpu"), "%")]) + " |")
    return lines + [""]


def summary_table(data, meta, c, servers, wls):
    lines = [f"#### Each server ÷ the ceiling, {meta.get('client_' + c, c)}", "",
             "| Server | " + " | ".join(WORKLOADS[w][0] for w in wls) + " |",
             "|---|" + "---:|" * len(wls)]
    for s in servers:
        if s == "ceiling" or s not in data.get(c, {}):
            continue
        cells = [fmt(paired(data, c, s, "ceiling", w, WORKLOADS[w][1]), "ratio") for w in wls]
        lines.append(f"| {meta.get('label_' + s, s)} | " + " | ".join(cells) + " |")
    return lines + [""]


def copy_table(out, meta, servers):
    lines = ["#### nbdcopy (Debian 12's nbdcopy 1.14), seconds", "",
             "| Server | " + " | ".join(t for _, t in COPIES) + " |", "|---|---:|---:|"]
    any_row = False
    for s in servers:
        cells = []
        for name, _ in COPIES:
            d = os.path.join(out, "nbdcopy", s)
            vals = []
            if os.path.isdir(d):
                for f in os.listdir(d):
                    if f.startswith(name + ".") and f.endswith(".txt") and \
                            f[len(name) + 1:-4].isdigit():
                        try:
                            with open(os.path.join(d, f)) as fh:
                                vals.append(float(fh.read()))
                        except (OSError, ValueError):
                            pass
            cells.append(fmt(stat(vals), "s"))
        if any(x != "—" for x in cells):
            any_row = True
            lines.append(f"| {meta.get('label_' + s, s)} | " + " | ".join(cells) + " |")
    return lines + [""] if any_row else []


def rss_table(out, meta):
    path = os.path.join(out, "rss.tsv")
    if not os.path.exists(path):
        return []
    lines = ["#### RSS after I/O, 1 PiB null disk", "", "| Server | VmRSS | VmHWM (peak) |",
             "|---|---:|---:|"]
    with open(path) as f:
        for line in f:
            s, rss, hwm = line.split()
            lines.append(f"| {meta.get('label_' + s, s)} | {int(rss) / 1024:.1f} MiB | "
                         f"{int(hwm) / 1024:.1f} MiB |")
    return lines + [""]


def load_idle(out):
    """server -> CPU % of one core while one connected client idles"""
    r = {}
    try:
        with open(os.path.join(out, "idle.tsv")) as f:
            for line in f:
                s, ticks, hz, secs = line.split()
                r[s] = int(ticks) / int(hz) / float(secs) * 100
    except (OSError, ValueError):
        pass
    return r


def idle_table(out, meta, servers):
    idle = load_idle(out)
    if not idle:
        return []
    lines = ["#### Idle: server CPU while one connected client sends nothing", "",
             "| Server | CPU (% of one core) |", "|---|---:|"]
    for s in servers:
        if s in idle:
            lines.append(f"| {meta.get('label_' + s, s)} | {idle[s]:.1f} |")
    return lines + [""]


def targets(data, meta, c, idle):
    """Issue 14's targets for rnull-server, from client c's rounds."""
    def check(text, v, minimum):
        if v is None:
            return f"- {text}: not measured"
        ok = "met" if v[0] >= minimum else "NOT met"
        return f"- {text}: {fmt(v, 'ratio')} ({ok})"
    out = [f"Targets (issue 14), {meta.get('client_' + c, c)}; paired ratios, median (range):"]
    for wl in ("randread-4k-qd1", "randread-4k-qd32", "read-1m-qd8"):
        t, f, _ = WORKLOADS[wl]
        out.append(check(f"rnull-server ≥ 0.95× ceiling, {t}",
                         paired(data, c, "rnull-server", "ceiling", wl, f), 0.95))
    for peer in ("qemu-nbd-13", "nbdkit-null-13"):
        for wl in ("randread-4k-qd1", "randread-4k-qd32"):
            t, f, _ = WORKLOADS[wl]
            out.append(check(f"rnull-server ≥ 1.2× {meta.get('label_' + peer, peer)}, {t}",
                             paired(data, c, "rnull-server", peer, wl, f), 1.2))
    wl = "randread-4k-qd32"
    out.append(check("rnull-server ≥ 1.0× qemu-nbd 7.2, 4k randread QD32",
                     paired(data, c, "rnull-server", "qemu-nbd", wl, "iops"), 1.0))
    wl = "randread-4k-qd32-2conn"
    out.append(check("2 conns: rnull-server IOPS ≥ 1.0× --poll off",
                     paired(data, c, "rnull-server", "rnull-server-off", wl, "iops"), 1.0))
    p99 = paired(data, c, "rnull-server", "rnull-server-off", wl, "p99", higher_better=False)
    out.append(check("2 conns: rnull-server p99 within 1.5× --poll off (off p99 ÷ ours ≥ 0.67)",
                     p99, 1 / 1.5))
    if "rnull-server" in idle:
        v = idle["rnull-server"]
        out.append(f"- idle client: rnull-server uses {v:.1f}% of a core (~0: "
                   f"{'met' if v < 2 else 'NOT met'}; 10 ms ticks)")
    plug = [f"{WORKLOADS[w][0]} {fmt(paired(data, c, 'plugin', 'nbdkit-null', w, WORKLOADS[w][1]), 'ratio')}"
            f" (CPU/req {fmt(paired(data, c, 'plugin', 'nbdkit-null', w, 'scpu', False), 'ratio')})"
            for w in WORKLOADS if data.get(c, {}).get("plugin", {}).get(w)]
    if plug:
        out.append("- plugin ÷ nbdkit 1.32 null (same nbdkit, paired): " + "; ".join(plug))
    return out + [""]


def main():
    out = sys.argv[1]
    meta = load_meta(out)
    data = load_all(out, meta)
    idle = load_idle(out)
    servers = meta.get("servers", "").split()
    wls = [w for w in meta.get("workloads", "").split() if w in WORKLOADS]
    p = []
    p.append(f"Run {meta.get('date', '?')} on {meta.get('host', '?')}; fio and the servers share "
             "the cores.")
    p.append(f"Disk {meta.get('size', '?')}, {meta.get('runtime', '?')} s per run, "
             f"{meta.get('repeat', '?')} round(s), servers in rotating order; commit "
             f"{meta.get('commit', '?')}.")
    p.append(f"Load average (1, 5, 15 min) at start {meta.get('load_start', '?')}, at end "
             f"{meta.get('load_end', '?')} (anything well above 0 means other work shared the "
             "cores).")
    p.append(f"Debian 12: {meta.get('fio', '?')}, {meta.get('libnbd', '?')}, "
             f"{meta.get('nbdkit', '?')}, {meta.get('qemu_nbd', '?')}.")
    if "fio_13" in meta:
        p.append(f"Debian 13: {meta['fio_13']}, {meta.get('libnbd_13', '?')}, "
                 f"{meta.get('nbdkit_13', '?')}, {meta.get('qemu_nbd_13', '?')}.")
    else:
        p.append(f"Debian 13 peers and client: {meta.get('newest', 'not run')}.")
    p.append("")
    p.append("Figures: median over the rounds (range min–max). Ratios: per round, paired, "
             "median (range); > 1.00 means better than the ceiling / the peer. Server CPU: "
             "the server process's user + system time during the run ÷ requests. Server "
             "switches: context switches of all the server's threads (perf stat, following "
             "per-connection threads) ÷ requests. Client wake-ups: fio's context switches ÷ "
             "requests. — means not measured.")
    p.append("")
    for c in meta.get("clients", "").split():
        if c in data:
            p += summary_table(data, meta, c, servers, wls)
    for c in meta.get("clients", "").split():
        if c in data:
            p += targets(data, meta, c, idle)
    for c in meta.get("clients", "").split():
        for wl in wls:
            if c in data:
                p += workload_table(data, meta, c, wl, servers)
    p += idle_table(out, meta, servers)
    p += copy_table(out, meta, servers)
    p += rss_table(out, meta)
    print("\n".join(p))


if __name__ == "__main__":
    main()
