#!/usr/bin/env python3
"""memscope-bpf's overhead benchmark (see README.md in this directory).

Measures, in one invocation and on one workload, the workload's throughput
untraced, under empty BPF programs at memscope-bpf's probe sites (the
floor), under memscope-bpf in several modes, under a bpftrace script and
under bcc's memleak; repeats every configuration for a few interleaved
rounds, and reports medians and ratios to the floor and to bpftrace.
Standard library only.
"""
import argparse
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from analysis import check_targets, summarize
from measure import Runner
from rows import Row, make_rows
from table import profile_table, targets_text

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BINARIES = ("memscope-bpf", "memscope-floor", "memscope-workload")
PROFILES = ("web", "pipeline", "game")


def parse_args(argv):
    p = argparse.ArgumentParser(prog="tools/overhead/run.sh", description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"), help="build directory (default: build/)")
    p.add_argument("-o", "--output", help="JSON results (default: BUILD/overhead.json)")
    p.add_argument("--rounds", type=int, default=3, help="runs of every configuration per profile (default 3)")
    p.add_argument("--seconds", type=float, default=1.0, help="measured window of each run (default 1.0)")
    p.add_argument("--warmup", type=float, default=0.2, help="uncounted run before the window (default 0.2)")
    p.add_argument("--adaptive-warmup", type=float, default=3.0,
                   help="warm-up of rows that adapt while running (--max-overhead; default 3.0)")
    p.add_argument("--adaptive-seconds", type=float, default=3.0,
                   help="measured window of those rows (default 3.0)")
    p.add_argument("--min-cpu-share", type=float, default=0.9,
                   help="a run whose workload threads were on a CPU less than this share of the time was "
                        "disturbed by another process and is repeated (default 0.9)")
    p.add_argument("--retries", type=int, default=2, help="repeats of a disturbed or failed run (default 2)")
    p.add_argument("--threads", type=int, default=2, help="workload threads (default 2)")
    p.add_argument("--profiles", default=",".join(PROFILES), help="comma-separated (default web,pipeline,game)")
    p.add_argument("--rows", help="comma-separated row keys to run (default all; see --list-rows)")
    p.add_argument("--seed", type=int, default=1, help="seed of the run order and the workload's tables")
    p.add_argument("--keep-logs", action="store_true", help="keep every run's logs and reports")
    p.add_argument("--list-rows", action="store_true", help="print the configurations and exit")
    p.add_argument("--reanalyze", metavar="JSON", help="print the tables of a saved run again (writes only with -o)")
    a = p.parse_args(argv)
    a.profiles = [x for x in a.profiles.split(",") if x]
    if any(x not in PROFILES for x in a.profiles) or a.rounds < 1:
        p.error("profiles are web, pipeline, game; rounds >= 1")
    if not a.reanalyze:
        a.output = a.output or os.path.join(a.build, "overhead.json")
    return a


def snapshot_binaries(build, work_dir):
    """Copies of the binaries: others may rebuild build/ while this runs,
    and a binary replaced between two runs would be a different row."""
    bins = {}
    for name in BINARIES:
        src = os.path.join(build, name)
        if not os.access(src, os.X_OK):
            sys.exit(f"overhead: {src} is missing: build the benchmarks with "
                     f"cmake -S {REPO} -B {build} -DMEMSCOPE_BENCHMARKS=ON && make -C {build} -j2")
        bins[name] = shutil.copy2(src, os.path.join(work_dir, name))
    return bins


def discover_sites(bins, work_dir):
    """memscope-bpf's probe sites in a workload process, from the floor's
    loader (which asks memscope_core): allocator path and offsets."""
    err_path = os.path.join(work_dir, "discover.err")
    with open(err_path, "w") as err:
        load = subprocess.Popen([bins["memscope-workload"], "--seconds", "0.01", "--warmup", "0", "--wait-start"],
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        for _ in range(3000):
            with open(err_path) as f:
                text = f.read()
            if text.startswith("ready "):
                break
            time.sleep(0.01)
        out = subprocess.run([bins["memscope-floor"], "--pid", str(load.pid), "--list"],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        # A build caught half-way through someone's edit would waste the
        # whole benchmark: memscope-bpf must attach once before it starts.
        probe = subprocess.run([bins["memscope-bpf"], "--pid", str(load.pid), "--duration", "0.05", "-o",
                                os.path.join(work_dir, "preflight.json")],
                               capture_output=True, text=True, timeout=120)
        if "tracing PID" not in probe.stderr:
            sys.exit(f"overhead: memscope-bpf does not attach (exit {probe.returncode}): "
                     f"{probe.stderr.strip()[-300:] or 'no output'}; rebuild {os.path.dirname(bins['memscope-bpf'])}?")
        return json.loads(out)
    finally:
        load.send_signal(signal.SIGKILL)
        load.wait()


def host_info():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    return {"kernel": platform.release(), "cpus": os.cpu_count(), "cpu_model": model,
            "hypervisor": "hypervisor" in open("/proc/cpuinfo").read()}


def main(argv):
    args = parse_args(argv)
    if args.reanalyze:
        return reanalyze(args)
    if os.geteuid() != 0:
        sys.exit("overhead: needs root (BPF programs and uprobes)")
    work_dir = tempfile.mkdtemp(prefix="memscope-overhead-")
    try:
        return benchmark(args, argv, work_dir)
    finally:
        if not args.keep_logs:
            shutil.rmtree(work_dir, ignore_errors=True)


def benchmark(args, argv, work_dir):
    bins = snapshot_binaries(args.build, work_dir)
    rows = make_rows(bins, HERE, args.adaptive_warmup, args.adaptive_seconds)
    if args.list_rows:
        for r in rows:
            print(f"{r.key:<20} {r.label}" + (f"  [{r.unavailable}]" if r.unavailable else ""))
        return 0
    if args.rows:
        keep = set(args.rows.split(",")) | {"untraced"}  # every ratio needs the baseline
        rows = [r for r in rows if r.key in keep]
    sites = discover_sites(bins, work_dir)
    runs = measure_all(args, rows, Runner(bins, work_dir, sites, args.threads, args.seconds, args.warmup, args.seed),
                       work_dir)
    report(args, "tools/overhead/run.sh " + " ".join(argv), rows, sites, runs, host_info())
    return 0


def measure_all(args, rows, runner, work_dir):
    runnable = [r for r in rows if not r.unavailable]
    total = len(runnable) * len(args.profiles) * args.rounds
    print(f"overhead: {total} runs ({len(runnable)} configurations x {len(args.profiles)} profiles x "
          f"{args.rounds} rounds), {args.seconds:g} s measured each; logs in {work_dir}", file=sys.stderr)
    runs, started, done = [], time.monotonic(), 0
    order_rng = random.Random(args.seed)
    for rnd in range(args.rounds):
        # Interleaved: every round visits the profiles in a rotated order and
        # the configurations in a fresh random order, so that drift in the
        # host's speed spreads over all rows instead of biasing some.
        profiles = args.profiles[rnd % len(args.profiles):] + args.profiles[:rnd % len(args.profiles)]
        for profile in profiles:
            order = runnable[:]
            order_rng.shuffle(order)
            for row in order:
                done += 1
                for attempt in range(args.retries + 1):
                    r = runner.run(row, profile)
                    r["round"] = rnd
                    runs.append(r)
                    # The tracer's own threads take a few % at most, so a
                    # workload kept off the CPUs for longer was sharing
                    # them with another process: both its wall and CPU
                    # figures are inflated then (cache, and time stolen by
                    # the hypervisor is charged to whoever runs).
                    r["disturbed"] = r["ok"] and r["cpu_share"] < args.min_cpu_share
                    again = (not r["ok"] or r["disturbed"]) and attempt < args.retries
                    r["discarded"] = again
                    status = f"{r['ops_per_s']:,.0f} calls/s" if r["ok"] else "FAILED: " + r.get("error", "")
                    extra = "" if r.get("breakpoints") in ("present", "none", None) else f" [breakpoints {r['breakpoints']}]"
                    extra += f" [{r['warning']}]" if "warning" in r else ""
                    extra += f" [cpu share {r['cpu_share'] * 100:.0f}%: disturbed]" if r["disturbed"] else ""
                    extra += " -> again" if again else ""
                    print(f"overhead: [{done}/{total} {time.monotonic() - started:.0f}s] round {rnd + 1} "
                          f"{profile:<8} {row.key:<20} {status}{extra}", file=sys.stderr)
                    if not again:
                        break
    return runs


def report(args, command, rows, sites, runs, host):
    """Prints the tables and targets; writes the JSON when there is an output."""
    figures = summarize(rows, args.profiles, runs, args.threads)
    targets = check_targets(rows, args.profiles, figures)
    text = [f"memscope-bpf overhead benchmark: {command.strip()}",
            f"host: {host['kernel']}, {host['cpus']} CPUs; workload: {args.threads} threads, "
            f"{args.seconds:g} s windows after {args.warmup:g} s warm-up ({args.adaptive_seconds:g} s after "
            f"{args.adaptive_warmup:g} s for --max-overhead), median of {args.rounds} interleaved rounds; "
            f"calls = malloc/calloc/realloc/free calls; added ns/call = {args.threads} x (1/traced - 1/untraced)"]
    mechanisms = sorted({f"{r['row']}: {r['memscope']['mechanism']}" for r in runs
                         if r.get("memscope") and r["memscope"].get("mechanism")})
    mechanisms += sorted({f"{r['row']}: {r['mechanism']}" for r in runs if r.get("mechanism")})
    text.append("probe sites: " + ", ".join(f"{s['symbol']}+{s['offset']:#x}" for s in sites["sites"]) +
                f" in {sites['allocator']}")
    if mechanisms:
        text.append("mechanisms: " + "; ".join(mechanisms))
    mismatched = {r["row"] for r in runs if (r.get("memscope") or {}).get("sites_match_floor") is False}
    if mismatched:
        text.append("WARNING: memscope-bpf probed other sites than the floor in: " + ", ".join(sorted(mismatched)))
    for p in args.profiles:
        text += ["", f"profile {p}", profile_table(rows, p, figures)]
    text += ["", "targets (ratios from this run; judged on wall time, cpu time in brackets):",
             targets_text(targets, args.profiles)]
    kept = [r for r in runs if not r.get("discarded")]
    disturbed = [r for r in kept if r.get("disturbed")]
    retried = len(runs) - len(kept)
    if retried:
        text.append(f"note: {retried} runs were repeated (failed, or disturbed by another process: workload on a "
                    f"CPU < {args.min_cpu_share * 100:.0f}% of its wall time)")
    if disturbed:
        text.append(f"note: {len(disturbed)} of the {len(kept)} runs kept were still disturbed; their rows' figures "
                    "are inflated (see 'disturbed' in spread)")
    print("\n".join(text))
    if not args.output:
        return
    result = {
        "schema": "memscope-bpf/overhead/v1",
        "command": command.strip(),
        "host": host,
        "settings": {k: getattr(args, k) for k in ("rounds", "seconds", "warmup", "adaptive_warmup",
                                                    "adaptive_seconds", "min_cpu_share", "retries", "threads",
                                                    "profiles", "seed")},
        "sites": sites,
        "rows": [{"key": r.key, "label": r.label, "group": r.group, "floor_ref": r.floor_ref,
                  "unavailable": r.unavailable, "profiles": figures[r.key]} for r in rows],
        "targets": targets,
        "runs": runs,
        "table": "\n".join(text),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(result, f, indent=2)
    print(f"overhead: results in {args.output}", file=sys.stderr)


def reanalyze(args):
    """Tables and targets again from a saved JSON, without measuring."""
    with open(args.reanalyze) as f:
        saved = json.load(f)
    for k, v in saved["settings"].items():
        setattr(args, k, v)
    rows = [Row(r["key"], r["label"], r["group"], floor_ref=r["floor_ref"], unavailable=r["unavailable"])
            for r in saved["rows"]]
    report(args, saved["command"], rows, saved["sites"], saved["runs"], saved["host"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
