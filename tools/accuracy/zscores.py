#!/usr/bin/env python3
"""Calibration of the 95% intervals, per site: runs one profile N times under
the given agent options and prints, for every site holding >= 1% of the
bytes, z = (estimate - truth) / standard error and the RMS of z (1 when the
intervals are right; above 1 they are too narrow).

  sudo tools/accuracy/zscores.py PROFILE SCALE RUNS [agent options...]
  sudo tools/accuracy/zscores.py pipeline 200000 12 --max-sampled 2 --small-rate 0.01 --medium-rate 0.01 --large-rate 0.01
"""
import importlib.util
import os
import statistics
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("accuracy", os.path.join(HERE, "run.py"))
acc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(acc)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    profile, scale, runs, extra = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
    z = defaultdict(list)
    for run in range(runs):
        rep, truth = acc.traced_run(profile, scale, 100 + run, extra)
        tot = sum(s["bytes"] for s in truth["sites"])
        for s in truth["sites"]:
            if s["bytes"] < 0.01 * tot:
                continue
            est, lo, hi = acc.site_figures(rep, s["function"])
            se = (hi - lo) / 2 / 1.96
            z[s["function"]].append((est - s["bytes"]) / se if se else float("nan"))
        print(f"run {run}: {len(rep['sampling']['changes'])} rate settings, "
              f"{rep['sampling']['allocation_records'] / rep['exact']['allocation_calls']:.2%} of calls sampled", flush=True)
    for site, v in z.items():
        rms = statistics.mean(x * x for x in v) ** 0.5
        print(f"{site[:32]:32s} rms z {rms:.2f}  " + " ".join(f"{x:+.1f}" for x in v))


if __name__ == "__main__":
    main()
