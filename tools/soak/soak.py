#!/usr/bin/env python3
"""The soak benchmark (issue 16): traces the workload's web profile for a long
time at default settings and records the agent's CPU and memory over time.
Both must be flat once the agent's tables are warm, and nothing dropped.

    sudo tools/soak/soak.py [--seconds 3600] [--every 10] [--threads 2] [--nice 0] [-o soak.csv]

Prints one line per sample and a summary: the agent's CPU per second and its
resident memory after warm-up (the first fifth of the run) against the end,
the records dropped, and the traced process's CPU. Writes every sample as CSV.
The workload runs in its throughput mode (the web profile's sizes and
lifetimes flat out, every block freed): a leaking target would grow the
agent's table of live sampled blocks by design (bounded by --max-live).
Exit status 1 when the agent's memory grew by more than 20% + 4 MiB after
warm-up, its CPU rate by more than 50% + 1% of a CPU, or a record was
dropped; 77 without root. ctest's soak_short runs it for 20 s. --nice lowers
the workload's priority (not the agent's) so that the soak can run beside other
work on the host; the agent then sees fewer calls, its tables the same.
"""
import argparse, json, os, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
AGENT = os.path.join(ROOT, "build", "memscope-bpf")
WORKLOAD = os.path.join(ROOT, "build", "memscope-workload")
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--nice", type=int, default=0, help="the workload's niceness")
    ap.add_argument("-o", "--csv", default="soak.csv")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("soak: SKIPPED: needs root (tracing)", file=sys.stderr)
        return 77
    tmp = tempfile.mkdtemp(prefix="memscope-soak-")
    report = os.path.join(tmp, "report.json")
    wl_args = [WORKLOAD, "--profile", "web", "--seconds", str(a.seconds), "--threads", str(a.threads)]
    wl = subprocess.Popen(wl_args, stdout=subprocess.DEVNULL, preexec_fn=lambda: os.nice(a.nice))
    agent = subprocess.Popen([AGENT, "-p", str(wl.pid), "-o", report], stderr=subprocess.PIPE, text=True)
    while True:  # until it traces
        line = agent.stderr.readline()
        if not line or "tracing PID" in line:
            break
    samples, t0 = [], time.monotonic()
    try:
        while wl.poll() is None:
            time.sleep(a.every)
            if wl.poll() is not None:
                break
            s = (time.monotonic() - t0, cpu_seconds(agent.pid), rss_kib(agent.pid), cpu_seconds(wl.pid))
            samples.append(s)
            print(f"{s[0]:8.1f} s  agent cpu {s[1]:7.2f} s  rss {s[2] / 1024:7.1f} MiB  target cpu {s[3]:8.1f} s",
                  flush=True)
    finally:
        agent.send_signal(signal.SIGINT)
        agent.communicate(timeout=300)
    with open(a.csv, "w") as f:
        f.write("t_s,agent_cpu_s,agent_rss_kib,target_cpu_s\n")
        for s in samples:
            f.write(",".join(f"{x:.3f}" if isinstance(x, float) else str(x) for x in s) + "\n")
    if not os.path.exists(report):
        print("soak: the agent wrote no report (see above)", file=sys.stderr)
        return 2
    r = json.load(open(report))
    dropped = r["sampling"]["dropped_events"]
    warm = max(1, len(samples) // 5)
    if len(samples) < warm + 2:
        print("soak: too few samples (raise --seconds or lower --every)", file=sys.stderr)
        return 2
    # CPU per second over the middle and the last stretch; RSS at warm-up and at the end.
    mid, end = samples[warm], samples[-1]
    third = samples[warm + (len(samples) - warm) // 2]
    rate = lambda x, y: (y[1] - x[1]) / (y[0] - x[0]) * 100
    early, late = rate(mid, third), rate(third, end)
    rss_growth = (end[2] - mid[2]) / 1024
    print(f"soak: {end[0]:.0f} s traced, {r['exact']['allocation_calls']} allocation calls, {dropped} records dropped")
    # Per second of the target's CPU too: a workload sharing the host (--nice) does varying work.
    per_target = lambda x, y: (y[1] - x[1]) / max(1e-9, y[3] - x[3]) * 100
    print(f"soak: agent CPU per target CPU {per_target(mid, third):.2f}% after warm-up, "
          f"{per_target(third, end):.2f}% at the end")
    print(f"soak: agent CPU {early:.2f}% of a CPU after warm-up, {late:.2f}% at the end; "
          f"RSS {mid[2] / 1024:.1f} MiB after warm-up, {end[2] / 1024:.1f} MiB at the end ({rss_growth:+.1f} MiB)")
    flat = end[2] <= mid[2] * 1.2 + 4096 and late <= early * 1.5 + 1.0 and dropped == 0
    print("soak: " + ("flat" if flat else "NOT flat"))
    return 0 if flat else 1


if __name__ == "__main__":
    sys.exit(main())
