#!/usr/bin/env python3
"""The coverage clocks under release windows (--window-releases), where no free
clock is exact: each run's allocation coverage as read (the clock the report
used, raw ticks of the sampled user-mode clock, ticks less the calibration's
user time per hit, user CPU less its own) against the share of allocation
calls counted inside windows over the workload's truth, and the release
coverage against the share of frees counted.

  sudo tools/accuracy/release_clock.py SCALE RUNS [agent options...]
  sudo tools/accuracy/release_clock.py 6000000 3 --max-overhead 20 --window-releases --duty-window 0.05 \\
      --control-interval 0.25 --small-rate 0.05 --medium-rate 0.5

The web profile, 2 threads (tools/accuracy/run.py's traced_run). Each run
takes /tmp/memscope-e2e.lock.
"""
import fcntl
import importlib.util
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("accuracy", os.path.join(HERE, "run.py"))
acc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(acc)


def off(read, truth):
    return f"{read or 0:.4f} ({(read or 0) / truth - 1:+.0%})"


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    scale, runs, extra = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    for run in range(runs):
        with open("/tmp/memscope-e2e.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            rep, truth = acc.traced_run("web", scale, 200 + run, extra)
        p = rep["processes"][0]
        dc = p["duty_cycle"]
        rel = dc["releases"] or {}
        true_ca = p["exact"]["allocation_calls"] / truth["totals"]["alloc_calls"]
        true_cr = rep["exact"]["by_api"]["free"]["calls"] / truth["by_api"]["free"]["calls"]
        print(f"run {run}: {dc['windows']} windows, clock {dc['clock']}; c_a counted {true_ca:.4f}, read "
              f"{off(dc['coverage'], true_ca)}, raw ticks {off(dc['coverage_by_user_ticks'], true_ca)}, ticks less h "
              f"{off(dc['coverage_by_user_ticks_corrected'], true_ca)}, user CPU less h "
              f"{off(dc['coverage_by_user_cpu_corrected'], true_ca)}; ticks {dc['user_ticks_in_windows']} of "
              f"{dc['user_ticks_total']}, h {dc['user_tick_ns_per_hit'] or 0:.0f} ns; c_r counted {true_cr:.4f}, read "
              f"{off(rel.get('coverage'), true_cr)}", flush=True)


if __name__ == "__main__":
    main()
