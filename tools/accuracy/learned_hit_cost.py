#!/usr/bin/env python3
"""Would the user time a probe hit adds, learned in the traced process itself,
make the user-CPU coverage clock good enough for release windows?

Runs a workload under a fixed duty cycle with the release probes attached
(so the free clock is exact window by window: the ground truth), reads the
clocks the agent logs at every window's open and close under -v, and for
each run:
  - learns the user time per hit from the first LEARN windows (and the gaps
    after them) as the value that makes corrected user CPU read what the
    free clock reads there:
        h = (F_out U_in - F_in U_out) / (F_out H_in - F_in H_out)
    (F frees, U user CPU, H hits, inside windows and in the gaps);
  - measures the coverage of the windows after those on each clock against
    the free clock's: raw user CPU, corrected with the calibration's value
    (the report's user_ns_per_hit), corrected with the learned one, and
    corrected with the value best for those windows themselves (the floor
    any fixed value can reach).

  sudo tools/accuracy/learned_hit_cost.py [--build DIR] [--perf] PROFILE SCALE RUNS LEARN[,LEARN...] [agent options...]
  sudo tools/accuracy/learned_hit_cost.py web 3000000 3 3,5,10 --duty-cycle 0.1/1
  sudo tools/accuracy/learned_hit_cost.py loop 30 3 5 --duty-cycle 0.1/1

--perf: the user CPU is read from `perf record -e cpu-clock:u -c 250000` of
the workload (a sample per 250 us of user-mode CPU, by the sample's mode:
no 4 ms ticks, no cputime_adjust), instead of /proc's utime.

PROFILE `loop` is the overhead benchmark's malloc/free loop for SCALE
seconds. Each run takes /tmp/memscope-e2e.lock. In release windows proper
the gaps hold no hit at all; here they hold the frees' hits, which the
formula takes off like those inside windows.
"""
import bisect
import fcntl
import importlib.util
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("accuracy", os.path.join(HERE, "run.py"))
acc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(acc)
LOCK = "/tmp/memscope-e2e.lock"
LINE = re.compile(r"\[([\d.]+)s\] window (opened|closed): PID (\d+) clocks frees (\d+) user_cpu_s ([\d.-]+) "
                  r"hits (\d+) cpu_s ([\d.-]+) monotonic_ns (\d+)")
SAMPLE_NS = 250_000  # --perf: one sample per 250 us of user-mode CPU


def run_agent(profile, scale, seed, agent_args, perf):
    """One traced run; returns the report, the agent's stderr and, with
    `perf`, the times (CLOCK_MONOTONIC ns) of the workload's user-mode
    cpu-clock samples."""
    with tempfile.TemporaryDirectory() as d:
        report, wl_err, ag_err = (os.path.join(d, n) for n in ("r.json", "wl.err", "ag.err"))
        if profile == "loop":
            wl_argv = [acc.WORKLOAD, "--seconds", str(scale), "--profile", "web", "--threads", "2", "--wait-start"]
        else:
            wl_argv = [acc.WORKLOAD, "--profile", profile, "--scale", str(scale), "--threads", "2", "--seed",
                       str(seed), "--wait-start", "--wait-exit"]
        wl = subprocess.Popen(wl_argv, stdout=subprocess.DEVNULL, stderr=open(wl_err, "w"))
        try:
            assert acc.wait_for(wl_err, "ready")
            ag = subprocess.Popen([acc.AGENT, "-v", "-p", str(wl.pid), "--top", "0", "-o", report] + agent_args,
                                  stdout=subprocess.DEVNULL, stderr=open(ag_err, "w"))
            assert acc.wait_for(ag_err, "tracing PID")
            pr = None
            if perf:
                pr = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock:u", "-c", str(SAMPLE_NS), "-k",
                                       "CLOCK_MONOTONIC", "-p", str(wl.pid), "-o", os.path.join(d, "perf.data")],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(0.5)
            wl.send_signal(signal.SIGUSR1)
            if profile == "loop":
                wl.wait(scale * 20 + 60)
            else:
                assert acc.wait_for(wl_err, "done", 900)
                ag.send_signal(signal.SIGINT)
            ag.wait(120)
            samples = []
            if pr:
                pr.send_signal(signal.SIGINT)
                pr.wait(60)
                out = subprocess.run(["perf", "script", "-i", os.path.join(d, "perf.data"), "-F", "time", "--ns"],
                                     capture_output=True, text=True).stdout
                samples = sorted(round(float(x.rstrip(":")) * 1e9) for x in out.split())
        finally:
            if wl.poll() is None:
                wl.send_signal(signal.SIGUSR1)
                try:
                    wl.wait(30)
                except subprocess.TimeoutExpired:
                    wl.kill()
                    wl.wait()
        return json.load(open(report)), open(ag_err).read(), samples


def windows_and_gaps(log, pid, samples):
    """[(window deltas, gap-after deltas)], each a dict of F, U, H; with
    perf samples, U is their user-mode time instead of /proc's."""
    flips = [m for m in LINE.finditer(log) if int(m.group(3)) == pid]
    pts = [(m.group(2), int(m.group(4)),
            bisect.bisect_left(samples, int(m.group(8))) * SAMPLE_NS / 1e9 if samples else float(m.group(5)),
            int(m.group(6))) for m in flips]
    out = []
    for i in range(len(pts) - 2):
        (k0, f0, u0, h0), (k1, f1, u1, h1), (k2, f2, u2, h2) = pts[i], pts[i + 1], pts[i + 2]
        if k0 == "opened" and k1 == "closed" and k2 == "opened" and u0 >= 0 and u2 >= 0:
            out.append(({"F": f1 - f0, "U": u1 - u0, "H": h1 - h0}, {"F": f2 - f1, "U": u2 - u1, "H": h2 - h1}))
    return out


def sums(pairs):
    s = {k: 0.0 for k in ("Fi", "Ui", "Hi", "Fo", "Uo", "Ho")}
    for w, g in pairs:
        s["Fi"] += w["F"]; s["Ui"] += w["U"]; s["Hi"] += w["H"]
        s["Fo"] += g["F"]; s["Uo"] += g["U"]; s["Ho"] += g["H"]
    return s


def best_h(s):
    den = s["Fo"] * s["Hi"] - s["Fi"] * s["Ho"]
    return (s["Fo"] * s["Ui"] - s["Fi"] * s["Uo"]) / den if den else float("nan")


def coverage(s, h):
    i, o = s["Ui"] - h * s["Hi"], s["Uo"] - h * s["Ho"]
    return i / (i + o) if i + o > 0 else float("nan")


def main():
    args = sys.argv[1:]
    if args[:1] == ["--build"] and len(args) > 1:
        acc.use_build(args[1])
        args = args[2:]
    perf = args[:1] == ["--perf"]
    if perf:
        args = args[1:]
    if len(args) < 4:
        sys.exit(__doc__)
    profile, scale, runs, extra = args[0], int(args[1]), int(args[2]), args[4:]
    learns = [int(x) for x in args[3].split(",")]
    errs = {}
    for run in range(runs):
        with open(LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            rep, log, samples = run_agent(profile, scale, 100 + run, extra, perf)
        pid = rep["processes"][0]["pid"]
        dc = rep["processes"][0]["duty_cycle"] or {}
        # The calibration measured /proc's user time per hit, not the samples'.
        calib = 0 if perf else (dc.get("user_ns_per_hit") or 0) * 1e-9
        pairs = windows_and_gaps(log, pid, samples)
        for learn in learns:
            one(run, learn, pairs, calib, errs)
    for k, v in errs.items():
        print(f"{k}: mean {statistics.mean(v):+.1%}, max |error| {max(abs(x) for x in v):.1%} over {len(v)} runs")


def one(run, learn, pairs, calib, errs):
    if len(pairs) <= learn:
        print(f"run {run}: {len(pairs)} windows, fewer than {learn} + 1", flush=True)
        return
    learned = best_h(sums(pairs[:learn]))
    test = sums(pairs[learn:])
    truth = test["Fi"] / (test["Fi"] + test["Fo"])
    values = {"raw": 0.0, "calibrated": calib, f"learned from {learn}": learned, "best": best_h(test)}
    line = (f"run {run}: {len(pairs)} windows ({learn} to learn), user/hit ns: calibrated {calib * 1e9:.0f}, "
            f"learned {learned * 1e9:.0f}, best {values['best'] * 1e9:.0f}; coverage by frees {truth:.4f}")
    for k, h in values.items():
        e = coverage(test, h) / truth - 1
        errs.setdefault(f"{k} (test windows after {learn})", []).append(e)
        line += f", {k} {e:+.1%}"
    print(line, flush=True)


if __name__ == "__main__":
    main()
