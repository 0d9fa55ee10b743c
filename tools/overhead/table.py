"""The benchmark's text output: one table per profile, then the targets."""


def _rate(x):
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if x >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _ns(x):
    return f"{x:,.0f}" if abs(x) >= 10 else f"{x:.1f}"


HEADER = ("configuration", "calls/s", "spread", "kept", "slowdown", "added ns/call", "vs floor", "bpftrace/this")


def profile_table(rows, profile, figures):
    lines = []
    for row in rows:
        f = figures[row.key][profile]
        label = row.label
        if row.unavailable:
            lines.append((label, row.unavailable, "", "", "", "", "", ""))
            continue
        if "ops_per_s" not in f:
            lines.append((label, "failed: " + "; ".join(f.get("errors", ["no runs"]))[:90], "", "", "", "", "", ""))
            continue
        runs = f"{f['spread'] * 100:.0f}%" + ("" if not f["failed"] else f" ({f['failed']} failed)")
        if row.key == "untraced":
            lines.append((label, _rate(f["ops_per_s"]), runs, "100%", "1.00x", "-", "-", "-"))
            continue
        vs_floor = f"{f['vs_floor']:.2f}x {f['floor_ref']}" if "vs_floor" in f else ("(ref)" if row.group == "floor" else "-")
        bt = f"{f['bpftrace_over']:.2f}x" if "bpftrace_over" in f else "-"
        lines.append((label, _rate(f["ops_per_s"]), runs, f"{f['kept'] * 100:.1f}%", f"{f['slowdown']:.2f}x",
                      _ns(f["added_ns"]), vs_floor, bt))
    widths = [max(len(str(l[i])) for l in lines + [HEADER]) for i in range(len(HEADER))]

    def fmt(l):
        if l[2] == "" and l[3] == "":  # n/a or failed: one free-text cell
            return f"{l[0]:<{widths[0]}}  {l[1]}"
        cells = [f"{l[0]:<{widths[0]}}"] + [f"{str(c):>{w}}" for c, w in zip(l[1:6], widths[1:6])]
        cells += [f"{str(c):<{w}}" for c, w in zip(l[6:], widths[6:])]
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(HEADER), fmt(tuple("-" * w for w in widths))] + [fmt(l) for l in lines])


def targets_text(targets, profiles):
    out = []
    for t in targets:
        parts = []
        for p in profiles:
            v = t["profiles"].get(p, {})
            if v.get("status") == "n/a":
                parts.append(f"{p} n/a")
            elif v:
                unit = "" if t["name"].startswith("max-overhead") else "x"
                value = f"{v['value'] * 100:.1f}%" if unit == "" else f"{v['value']:.2f}x"
                parts.append(f"{p} {value} {v['status']}")
        why = ""
        if t["status"] == "n/a":
            why = " (" + next(iter(t["profiles"].values()), {}).get("why", "") + ")"
        out.append(f"{t['status']:<7} {t['what']}: " + ", ".join(parts) + why)
    return "\n".join(out)
