#!/usr/bin/env python3
"""Medians of perf_dwarf.sh's runs, as two markdown tables per build.

Input: one run a line, "BUILD MODE key=value ...". Times per call divide by
the calls of one run (samples + lost samples of the run without call graph,
the same in every run: the program is deterministic); times per sample by
the run's samples. Ratios are of medians, all from the same invocation.
"""
import statistics
import sys
from collections import defaultdict

MODES = ["none", "nocg", "fp", "dwarf4096", "dwarf8192", "dwarf16384"]
LABEL = {"none": "untraced", "nocg": "perf, no call graph", "fp": "perf --call-graph fp",
         "dwarf4096": "perf --call-graph dwarf,4096", "dwarf8192": "perf --call-graph dwarf,8192",
         "dwarf16384": "perf --call-graph dwarf,16384"}


def read_runs(stream):
    runs = defaultdict(list)
    for line in stream:
        words = line.split()
        if len(words) < 3:
            continue
        runs[(words[0], words[1])].append({k: float(v) for k, v in (w.split("=", 1) for w in words[2:])})
    return runs


def med(rows, key):
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    return f"{a / b:.2f}x" if a is not None and b else "-"


def cost_table(build, runs):
    m = {mode: runs.get((build, mode), []) for mode in MODES}
    base = m["nocg"]
    calls = med(base, "samples") + med(base, "lost") if base else None
    print(f"\n{build} build: {calls:.0f} calls a run, medians of {len(base)} runs\n")
    print("| mode | wall ns/call | cpu ns/call | cpu vs untraced | vs no call graph | vs fp "
          "| added cpu ns/call vs fp | lost |")
    print("|---|---|---|---|---|---|---|---|")
    cpu = {k: med(v, "cpu_ns") for k, v in m.items() if v}
    for mode, rows in m.items():
        if not rows:
            continue
        w, c = med(rows, "wall_ns"), cpu[mode]
        added = f"{(c - cpu['fp']) / calls:,.0f}" if "fp" in cpu and mode.startswith("dwarf") else "-"
        lost = f"{med(rows, 'lost'):.0f}" if mode != "none" else "-"
        print(f"| {LABEL[mode]} | {w / calls:,.0f} | {c / calls:,.0f} | {ratio(c, cpu.get('none'))} "
              f"| {ratio(c, cpu.get('nocg'))} | {ratio(c, cpu.get('fp'))} | {added} | {lost} |")


def agent_table(build, runs):
    print(f"\n{build} build: records, the unwinding's CPU and accuracy (perf script with libunwind / dwfl_unwind)\n")
    print("| mode | file bytes/sample | record bytes | perf script cpu us/sample | of which stacks (vs -G) "
          "| libdw unwind us/sample (1st / 2nd pass) | exact stacks (perf / libdw) | callers (perf / libdw) |")
    print("|---|---|---|---|---|---|---|---|")
    for mode in MODES[1:]:
        rows = runs.get((build, mode), [])
        if not rows:
            continue

        def per(f, key="samples"):
            return statistics.median(f(r) / r[key] for r in rows)

        def share(pre):
            if pre + "exact" not in rows[0]:
                return "-", "-"
            return (f"{100 * per(lambda r: r[pre + 'exact'], pre + 'samples'):.1f}%",
                    f"{100 * per(lambda r: r[pre + 'caller'], pre + 'caller_of'):.1f}%")

        (acc, caller), (dacc, dcaller) = share(""), share("dwfl_")
        stacks = per(lambda r: r["script_cpu_ms"] - r["script_nocg_cpu_ms"])
        libdw = "-"
        if "dwfl_cold_us" in rows[0]:
            libdw = f"{med(rows, 'dwfl_cold_us'):.1f} / {med(rows, 'dwfl_warm_us'):.1f}"
        if dacc != "-":
            acc, caller = f"{acc} / {dacc}", f"{caller} / {dcaller}"
        print(f"| {LABEL[mode]} | {per(lambda r: r['file_bytes']):,.0f} | {med(rows, 'record_bytes'):,.0f} "
              f"| {1e3 * per(lambda r: r['script_cpu_ms']):.1f} | {1e3 * stacks:.1f} | {libdw} | {acc} | {caller} |")


def main():
    runs = read_runs(sys.stdin)
    for build in sorted({b for b, _ in runs}):
        cost_table(build, runs)
        agent_table(build, runs)


if __name__ == "__main__":
    main()
