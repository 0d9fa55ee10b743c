#!/usr/bin/env python3
"""Per site of a report traced under --window-releases, the leak verdict's
evidence: sampled blocks n, frees seen k (its lifetimes' ended buckets), the
p-value P(Binomial(n, c_r) <= k) at its process's release coverage, and the
Benjamini-Hochberg threshold of its rank (userspace/aggregate/leak_verdicts.h).
Approximate: n counts blocks the agent did not follow too, so p can read a
little low; the report's sites are merged by symbol and cut by --top (trace
with --top 0), where the agent judged the kernel's sites.

  tools/accuracy/leak_pvalues.py REPORT.json [PID]
"""
import json
import math
import sys


def lower_tail(k, n, p):
    if k >= n or k >= n * p:
        return 1.0
    if p >= 1:
        return 0.0
    s, lt = 0.0, n * math.log1p(-p)
    for j in range(k + 1):
        s += math.exp(lt)
        lt += math.log(n - j) - math.log(j + 1) + math.log(p) - math.log1p(-p)
    return min(1.0, s)


def main():
    report = json.load(open(sys.argv[1]))
    for proc in report["processes"]:
        if len(sys.argv) > 2 and proc["pid"] != int(sys.argv[2]):
            continue
        rel = (proc.get("duty_cycle") or {}).get("releases")
        if not rel:
            print(f"PID {proc['pid']}: releases not windowed")
            continue
        c_r = rel["coverage"]
        rows = []
        for s in proc["sites"]:
            ended = sum(b["sampled"] for b in s["lifetimes"] if b["bucket"] not in ("still_live", "end_unseen"))
            n = s["sampled"]["allocations"]
            fn = s["frames"][0]["function"] if s["frames"] else "?"
            rows.append((lower_tail(ended, n, c_r), fn, len(s["frames"]), n, ended, s["sampled"]["live"]))
        rows = sorted((r for r in rows if r[3] > 0), key=lambda r: r[0])
        print(f"PID {proc['pid']}: c_r {c_r:.4g}, {len(rows)} sites with sampled blocks")
        for j, (p, fn, depth, n, k, told) in enumerate(rows, 1):
            print(f"  p {p:<9.3g} threshold {j * 0.05 / len(rows):<8.3g} n {n:<7} seen {k:<7} told {told:<6} "
                  f"{fn} ({depth} frames)")


if __name__ == "__main__":
    sys.exit(main())
