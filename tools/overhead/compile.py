#!/usr/bin/env python3
"""Following children: a real C++ compile, untraced and traced, as ratios.

`g++` forks `cc1plus` and `as`; the compiler proper makes about a million
allocator calls in well under a second. The benchmark runs the same compile
untraced, under `memscope-bpf --follow-children -- COMMAND` (the probes every
child inherits) and, for comparison, with `memscope-bpf --comm cc1plus`
started first (per-process probes attached when the exec is seen), in
interleaved rounds, and prints medians of:

- the compile's own wall and CPU time (user + sys of the compiler processes,
  from bash's `time` inside the traced command, so the agent is not in it),
- the ratio to untraced (traced / untraced of the same round),
- the CPU the report says the probes added (`added_time_s`, summed over the
  processes) against the CPU the compile really gained,
- how long the agent ran on after the compile ended (its exit: detach,
  symbols, report).

Needs root and a build. Standard library only.
  sudo tools/overhead/compile.py [--rounds 3] [--source FILE] [-o build/compile.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TIMEFORMAT = "compile-time %R %U %S"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="tools/overhead/compile.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"), help="build directory (default: build/)")
    p.add_argument("--source", default=os.path.join(REPO, "userspace/common/fs.cpp"),
                   help="the C++ file compiled (default: userspace/common/fs.cpp)")
    p.add_argument("--rounds", type=int, default=3, help="rounds of every row (default 3)")
    p.add_argument("--rows", default="untraced,follow-children,comm",
                   help="comma-separated: untraced, follow-children, comm (default all)")
    p.add_argument("-o", "--output", help="JSON results (default: BUILD/compile.json)")
    a = p.parse_args(argv)
    a.rows = [r for r in a.rows.split(",") if r]
    if a.rounds < 1 or any(r not in ("untraced", "follow-children", "comm") for r in a.rows):
        p.error("rows are untraced, follow-children, comm; rounds >= 1")
    if "untraced" not in a.rows:
        a.rows.insert(0, "untraced")  # every ratio needs it
    a.output = a.output or os.path.join(a.build, "compile.json")
    return a


def compile_command(source, build, obj):
    """bash times the compiler (its children) and prints one line on stderr."""
    gxx = ("g++ -O2 -std=gnu++20 -I {r}/userspace -I {r}/include -I {b}/bpf -isystem /usr/include/capstone "
           "-c {s} -o {o}").format(r=REPO, b=build, s=source, o=obj)
    return ["bash", "-c", f"TIMEFORMAT='{TIMEFORMAT}'; time {gxx}"]


def parse_time(stderr_text):
    for line in stderr_text.splitlines():
        if line.startswith("compile-time "):
            wall, user, sys_ = (float(x) for x in line.split()[1:4])
            return {"wall_s": wall, "cpu_s": user + sys_}
    raise RuntimeError("no compile-time line in: " + stderr_text[-400:])


def added_time(report_path):
    with open(report_path) as f:
        report = json.load(f)
    added = [p.get("added_time_s") for p in report.get("processes", [])]
    known = [a for a in added if a is not None]
    hits = sum(p.get("probe_hits", {}).get("total", 0) for p in report.get("processes", []))
    return (sum(known) if known else None), hits, len(report.get("processes", []))


def run_untraced(cmd):
    done = subprocess.run(cmd, stderr=subprocess.PIPE, text=True, check=True)
    return parse_time(done.stderr)


def run_follow(agent, cmd, work):
    report = os.path.join(work, "follow.json")
    log = os.path.join(work, "follow.log")
    with open(log, "w") as err:
        proc = subprocess.Popen([agent, "--follow-children", "--max-overhead", "100", "-o", report, "--", *cmd],
                                stderr=subprocess.PIPE, text=True)
        lines = []
        ended = None
        for line in proc.stderr:
            lines.append(line)
            err.write(line)
            if line.startswith("compile-time "):
                ended = time.monotonic()
        proc.wait()
    if proc.returncode != 0:
        raise RuntimeError(f"memscope-bpf exited {proc.returncode}: see {log}")
    out = parse_time("".join(lines))
    out["agent_after_s"] = time.monotonic() - ended if ended else None
    out["added_time_s"], out["hits"], out["processes"] = added_time(report)
    return out


def run_comm(agent, cmd, work):
    report = os.path.join(work, "comm.json")
    log = open(os.path.join(work, "comm.log"), "w")
    proc = subprocess.Popen([agent, "--comm", "cc1plus", "--max-overhead", "100", "-o", report],
                            stderr=log, text=True)
    time.sleep(3)  # its calibration and the watch on execs
    # --comm follows every cc1plus on the machine: run on a quiet one.
    try:
        out = run_untraced(cmd)
    finally:
        ended = time.monotonic()
        proc.send_signal(2)
        proc.wait(timeout=120)
        log.close()
    out["agent_after_s"] = time.monotonic() - ended
    out["added_time_s"], out["hits"], out["processes"] = added_time(report)
    return out


def summarize(runs):
    base = runs["untraced"]
    rows = {}
    for name, rs in runs.items():
        row = {k: statistics.median(r[k] for r in rs) for k in ("wall_s", "cpu_s")}
        if name != "untraced":
            row["cpu_ratio"] = statistics.median(r["cpu_s"] / b["cpu_s"] for r, b in zip(rs, base))
            row["wall_ratio"] = statistics.median(r["wall_s"] / b["wall_s"] for r, b in zip(rs, base))
            row["cpu_added_s"] = statistics.median(r["cpu_s"] - b["cpu_s"] for r, b in zip(rs, base))
            reported = [r["added_time_s"] for r in rs if r.get("added_time_s") is not None]
            row["reported_added_s"] = statistics.median(reported) if reported else None
            row["hits"] = statistics.median(r["hits"] for r in rs)
            row["agent_after_s"] = statistics.median(r["agent_after_s"] for r in rs)
        rows[name] = row
    return rows


def print_table(rows):
    print(f"{'row':16} {'wall s':>7} {'CPU s':>7} {'CPU x':>6} {'wall x':>6} {'added s':>8} "
          f"{'reported':>8} {'hits':>9} {'exit s':>6}")
    for name, r in rows.items():
        def f(key, fmt):
            v = r.get(key)
            return format(v, fmt) if v is not None else format("-", ">" + fmt.split(".")[0])
        print(f"{name:16} {f('wall_s', '7.2f')} {f('cpu_s', '7.2f')} {f('cpu_ratio', '6.2f')} "
              f"{f('wall_ratio', '6.2f')} {f('cpu_added_s', '8.2f')} {f('reported_added_s', '8.2f')} "
              f"{f('hits', '9.0f')} {f('agent_after_s', '6.1f')}")


def main(argv):
    a = parse_args(argv)
    if os.geteuid() != 0:
        sys.exit("compile: needs root (it attaches probes)")
    agent = os.path.join(a.build, "memscope-bpf")
    if not os.access(agent, os.X_OK) or not os.path.exists(a.source):
        sys.exit(f"compile: {agent} or {a.source} is missing")
    runs = {r: [] for r in a.rows}
    with tempfile.TemporaryDirectory(prefix="memscope-compile-") as work:
        cmd = compile_command(a.source, a.build, os.path.join(work, "out.o"))
        run_untraced(cmd)  # the headers into the page cache
        for i in range(a.rounds):
            for name in a.rows:
                print(f"compile: round {i + 1}/{a.rounds}: {name}", file=sys.stderr)
                if name == "untraced":
                    runs[name].append(run_untraced(cmd))
                elif name == "follow-children":
                    runs[name].append(run_follow(agent, cmd, work))
                else:
                    runs[name].append(run_comm(agent, cmd, work))
    rows = summarize(runs)
    print_table(rows)
    try:
        with open(a.output, "w") as f:
            json.dump({"source": a.source, "rounds": a.rounds, "rows": rows, "runs": runs}, f, indent=1)
    except OSError as e:
        sys.exit(f"compile: cannot write {a.output}: {e.strerror}")
    print(f"compile: results in {a.output}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
