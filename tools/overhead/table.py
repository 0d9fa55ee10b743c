"""The benchmark's text output: one table per profile, then the targets."""


def _rate(x):
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _ns(x):
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}"


def _x(f, key):
    return f"{f[key]:.2f}x" if key in f else "-"


HEADER = ("configuration", "calls/s", "spread", "kept", "slowdown", "added ns/call", "vs floor", "bpftrace/this",
          "cpu added ns", "cpu vs floor", "cpu bpftrace/this", "tracer cpu ns/call", "cpu share", "records/call")
LEFT = {0, 6}  # left-aligned columns


def _cells(row, f):
    if row.unavailable:
        return row.unavailable
    if "ops_per_s" not in f:
        return "failed: " + "; ".join(f.get("errors", ["no runs"]))[:120]
    notes = [f"{f[k]} {k}" for k in ("failed", "disturbed") if f.get(k)]
    spread = f"{f['spread'] * 100:.0f}%" + (f" ({', '.join(notes)})" if notes else "")
    share = f"{f['cpu_share'] * 100:.0f}%"
    records = f"{f['records_per_call'] * 100:.2f}%" if "records_per_call" in f else "-"
    tracer = _ns(f["tracer_ns_per_call"]) if "tracer_ns_per_call" in f else "-"
    if row.key == "untraced":
        return (row.label, _rate(f["ops_per_s"]), spread, "100%", "1.00x", "-", "-", "-", "-", "-", "-", "-", share, records)
    if "vs_floor" in f:
        vs_floor = f"{f['vs_floor']:.2f}x {f['floor_ref']}"
    else:
        vs_floor = "(floor)" if row.group == "floor" else "-"
    return (row.label, _rate(f["ops_per_s"]), spread, f"{f['kept'] * 100:.1f}%", f"{f['slowdown']:.2f}x",
            _ns(f["added_ns"]), vs_floor, _x(f, "bpftrace_over"), _ns(f["cpu_added_ns"]), _x(f, "cpu_vs_floor"),
            _x(f, "cpu_bpftrace_over"), tracer, share, records)


def profile_table(rows, profile, figures):
    lines = [(row, _cells(row, figures[row.key][profile])) for row in rows]
    full = [c for _, c in lines if isinstance(c, tuple)] + [HEADER]
    widths = [max(len(c[i]) for c in full) for i in range(len(HEADER))]

    def fmt(cells):
        if isinstance(cells, str):
            return None
        return "  ".join(f"{c:<{w}}" if i in LEFT else f"{c:>{w}}"
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [fmt(HEADER), fmt(tuple("-" * w for w in widths))]
    for row, cells in lines:
        out.append(fmt(cells) if isinstance(cells, tuple) else f"{row.label:<{widths[0]}}  {cells}")
    return "\n".join(out)


def targets_text(targets, profiles):
    out = []
    for t in targets:
        parts = []
        percent = t["name"].startswith("max-overhead")
        show = (lambda v: f"{v * 100:.1f}%") if percent else (lambda v: f"{v:.2f}x")
        for p in profiles:
            v = t["profiles"].get(p, {})
            if v.get("status") == "n/a":
                parts.append(f"{p} n/a")
            elif v:
                cpu = f" (cpu {show(v['cpu_value'])}{', disagrees' if v.get('cpu_disagrees') else ''})" \
                    if v.get("cpu_value") is not None else ""
                parts.append(f"{p} {show(v['value'])}{cpu} {v['status']}")
        why = ""
        if t["status"] == "n/a":
            why = " (" + next(iter(t["profiles"].values()), {}).get("why", "") + ")"
        out.append(f"{t['status']:<7} {t['what']}: " + ", ".join(parts) + why)
    return "\n".join(out)
