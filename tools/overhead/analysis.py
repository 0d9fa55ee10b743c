"""From runs to figures: medians per row and profile, the added cost per
call against the untraced baseline of the same run, its ratios to the
floor and to bpftrace, and the issue's targets.

Only ratios between figures of one invocation are meaningful: the hosts
these machines run on differ by 10x in what a trap costs.
"""
import statistics

# (name, row, reference, test, threshold, what) -- checked per profile.
TARGETS = [
    ("full-vs-floor", "ms-full", "floor-classic", "added_ratio_max", 1.15,
     "full tracing: added cost per call <= 1.15x the classic floor"),
    ("full-vs-bpftrace", "ms-full", "bpftrace", "less_than_by", 2.5,
     "full tracing: >= 2.5x less added cost than the bpftrace script"),
    ("sampling-vs-entry-floor", "ms-default-session", "floor-entry", "added_ratio_max", 1.25,
     "default sampling, session probes: added cost <= 1.25x the entry-only floor"),
    ("max-overhead-3", "ms-maxovh-session", "untraced", "kept_min", 0.97,
     "--max-overhead 3 (session): keeps >= 97% of untraced throughput"),
    ("max-overhead-3-classic", "ms-maxovh-classic", "untraced", "kept_min", 0.97,
     "--max-overhead 3 (classic): keeps >= 97% of untraced throughput"),
]


def added_ns(ops, base_ops, threads):
    """Added wall time per call on one thread, in ns. The workload's
    throughput is summed over its threads, so one call on one thread takes
    threads / throughput."""
    return threads * 1e9 * (1.0 / ops - 1.0 / base_ops)


def summarize(rows, profiles, runs, threads):
    """figures[row][profile] -> dict of medians and ratios."""
    figures = {}
    for row in rows:
        figures[row.key] = {}
        for p in profiles:
            ok = [r["ops_per_s"] for r in runs if r["row"] == row.key and r["profile"] == p and r["ok"]]
            failed = [r.get("error", "") for r in runs if r["row"] == row.key and r["profile"] == p and not r["ok"]]
            f = {"runs": len(ok), "failed": len(failed)}
            if failed:
                f["errors"] = sorted(set(failed))
            if ok:
                med = statistics.median(ok)
                f.update(ops_per_s=med, spread=(max(ok) - min(ok)) / med, samples=ok)
            figures[row.key][p] = f

    for p in profiles:
        base = figures.get("untraced", {}).get(p, {}).get("ops_per_s")
        for row in rows:
            f = figures[row.key][p]
            if base is None or "ops_per_s" not in f:
                continue
            f["kept"] = f["ops_per_s"] / base
            f["slowdown"] = base / f["ops_per_s"]
            f["added_ns"] = added_ns(f["ops_per_s"], base, threads)
        for row in rows:
            f = figures[row.key][p]
            if "added_ns" not in f:
                continue
            ref = figures.get(row.floor_ref, {}).get(p, {}) if row.floor_ref else {}
            if ref.get("added_ns", 0) > 0:
                f["vs_floor"] = f["added_ns"] / ref["added_ns"]
                f["floor_ref"] = row.floor_ref
            bt = figures.get("bpftrace", {}).get(p, {})
            if row.key != "untraced" and bt.get("added_ns", 0) > 0 and f["added_ns"] > 0:
                f["bpftrace_over"] = bt["added_ns"] / f["added_ns"]
    return figures


def check_targets(rows, profiles, figures):
    unavailable = {r.key: r.unavailable for r in rows}
    results = []
    for name, row, ref, test, threshold, what in TARGETS:
        t = {"name": name, "what": what, "row": row, "reference": ref, "threshold": threshold, "profiles": {}}
        why_na = unavailable.get(row) or unavailable.get(ref)
        for p in profiles:
            f, r = figures.get(row, {}).get(p, {}), figures.get(ref, {}).get(p, {})
            if why_na or "added_ns" not in f or (test != "kept_min" and "added_ns" not in r):
                t["profiles"][p] = {"status": "n/a", "why": why_na or "no successful runs"}
                continue
            if test == "added_ratio_max":
                value = f["added_ns"] / r["added_ns"] if r["added_ns"] > 0 else float("inf")
                ok = value <= threshold
            elif test == "less_than_by":
                value = r["added_ns"] / f["added_ns"] if f["added_ns"] > 0 else float("inf")
                ok = value >= threshold
            else:  # kept_min
                value = f["kept"]
                ok = value >= threshold
            t["profiles"][p] = {"status": "PASS" if ok else "FAIL", "value": value}
        statuses = {v["status"] for v in t["profiles"].values()}
        t["status"] = "FAIL" if "FAIL" in statuses else ("n/a" if statuses == {"n/a"} or not statuses
                                                         else ("PASS" if statuses == {"PASS"} else "partial"))
        results.append(t)
    return results
