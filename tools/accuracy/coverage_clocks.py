#!/usr/bin/env python3
"""The duty cycle's coverage clocks against each other: runs the workload under
the agent's windows several times and prints, per run, each process's coverage
by the free clock (exact while the release probes stay attached: the ground
truth here), by the sampled user-mode clock's ticks, by raw user CPU, by user
CPU corrected for the traps' inflation and by all CPU less the traps' measured cost, each clock's error against the free clock, and the allocation calls
and bytes each clock's coverage would estimate against the workload's truth.

  sudo tools/accuracy/coverage_clocks.py PROFILE SCALE RUNS [agent options...]
  sudo tools/accuracy/coverage_clocks.py web 100000 5 --duty-cycle 0.5/2
  sudo tools/accuracy/coverage_clocks.py loop 8 5 --max-overhead 3
  sudo tools/accuracy/coverage_clocks.py --build DIR web 100000 5 ...   (another build's agent and workload)

PROFILE `loop` is the overhead benchmark's malloc/free loop (the workload's
throughput mode, web's size mix) for SCALE seconds: it has no truth file, so
only the clocks are compared. Each run takes /tmp/memscope-e2e.lock, so that
it never overlaps another session's end-to-end tests or benchmarks.
"""
import fcntl
import importlib.util
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("accuracy", os.path.join(HERE, "run.py"))
acc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(acc)
LOCK = "/tmp/memscope-e2e.lock"


def loop_run(seconds, agent_args):
    with tempfile.TemporaryDirectory() as d:
        report, wl_err, ag_err = (os.path.join(d, n) for n in ("r.json", "wl.err", "ag.err"))
        wl = subprocess.Popen([acc.WORKLOAD, "--seconds", str(seconds), "--profile", "web", "--threads", "2",
                               "--wait-start"], stdout=subprocess.DEVNULL, stderr=open(wl_err, "w"))
        try:
            assert acc.wait_for(wl_err, "ready")
            ag = subprocess.Popen([acc.AGENT, "-p", str(wl.pid), "--top", "0", "-o", report] + agent_args,
                                  stdout=subprocess.DEVNULL, stderr=open(ag_err, "w"))
            assert acc.wait_for(ag_err, "tracing PID")
            wl.send_signal(signal.SIGUSR1)
            wl.wait(seconds * 20 + 60)
            ag.wait(120)
        finally:
            if wl.poll() is None:
                wl.kill()
                wl.wait()
        return json.load(open(report)), None


def one_run(profile, scale, seed, agent_args):
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if profile == "loop":
            return loop_run(scale, agent_args)
        return acc.traced_run(profile, scale, seed, agent_args)


def ideal_user_ns(dc):
    """The user time per hit that would make the corrected user-CPU clock
    read what the free clock reads."""
    f = dc["coverage_by_frees"]
    num = dc["user_cpu_in_windows_s"] - f * dc["user_cpu_total_s"]
    den = dc["hits_in_windows"] - f * dc["hits_total"]
    return num / den * 1e9 if den else float("nan")


def ideal_tick_ns(dc, tick_ns=1e6):
    """The same on the sampled user-mode clock (a tick per ms of CPU)."""
    f = dc["coverage_by_frees"]
    num = (dc.get("user_ticks_in_windows", 0) - f * dc.get("user_ticks_total", 0)) * tick_ns
    den = dc["hits_in_windows"] - f * dc["hits_total"]
    return num / den if den else float("nan")


def rel(a, b):
    return a / b - 1 if b else float("nan")


def main():
    args = sys.argv[1:]
    if args[:1] == ["--build"] and len(args) > 1:
        acc.use_build(args[1])
        args = args[2:]
    if len(args) < 3:
        sys.exit(__doc__)
    profile, scale, runs, extra = args[0], int(args[1]), int(args[2]), args[3:]
    errs = {"user_ticks_corrected": [], "user_ticks": [], "user_cpu": [], "user_cpu_corrected": [], "cpu_corrected": []}
    est_errs = {"frees": [], "user_ticks_corrected": [], "user_ticks": [], "user_cpu": [], "user_cpu_corrected": [], "cpu_corrected": []}
    for run in range(runs):
        rep, truth = one_run(profile, scale, 100 + run, extra)
        dc = rep["processes"][0]["duty_cycle"] if rep["processes"] else None
        if not dc:
            print(f"run {run}: no windows (duty_cycle null)", flush=True)
            continue
        cov = {"frees": dc["coverage_by_frees"], "user_ticks": dc.get("coverage_by_user_ticks"),
               "user_ticks_corrected": dc.get("coverage_by_user_ticks_corrected"),
               "user_cpu": dc["coverage_by_user_cpu"],
               "user_cpu_corrected": dc["coverage_by_user_cpu_corrected"], "cpu_corrected": dc["coverage_by_cpu_corrected"]}
        line = (f"run {run}: {rep['duty_cycle']['windows']} windows, clock {dc['clock']}, "
                f"{dc['user_ns_per_hit'] or 0:.0f} ns user/hit (calibration), {ideal_user_ns(dc):.0f} (the free "
                f"clock's), on ticks {dc.get('user_tick_ns_per_hit') or 0:.0f} ({ideal_tick_ns(dc):.0f}), user CPU {dc['user_cpu_in_windows_s']:.2f} of {dc['user_cpu_total_s']:.2f} s, "
                f"user ticks {dc.get('user_ticks_in_windows', 0)} of {dc.get('user_ticks_total', 0)}, "
                f"coverage frees {cov['frees']:.4f}")
        for k in errs:
            if cov[k] is not None:
                errs[k].append(rel(cov[k], cov["frees"]))
                line += f", {k} {cov[k]:.4f} ({errs[k][-1]:+.1%})"
        if truth:
            # What each clock's coverage would estimate: the calls counted
            # inside windows over it.
            counted = dc["allocations_estimated"]["calls"] * dc["coverage"]
            counted_bytes = dc["allocations_estimated"]["bytes"] * dc["coverage"]
            line += "; calls / bytes vs truth:"
            for k in est_errs:
                if cov[k]:
                    c, b = rel(counted / cov[k], truth["totals"]["alloc_calls"]), rel(
                        counted_bytes / cov[k], truth["totals"]["alloc_bytes"])
                    est_errs[k].append(c)
                    line += f" {k} {c:+.2%} / {b:+.2%}"
        print(line, flush=True)
    for k, v in errs.items():
        if v:
            print(f"{k} vs frees over {len(v)} runs: mean {statistics.mean(v):+.1%}, "
                  f"max |error| {max(abs(x) for x in v):.1%}")
    for k, v in est_errs.items():
        if v:
            print(f"calls estimated by {k} vs truth: mean {statistics.mean(v):+.2%}, "
                  f"max |error| {max(abs(x) for x in v):.2%}")


if __name__ == "__main__":
    main()
