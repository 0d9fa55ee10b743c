#!/bin/bash
# What --follow-children loses of children that exec and allocate at once:
# a traced shell starts two workloads at the same time (web: C calls only;
# game: C calls and C++ operator new/new[]), each running its phase the
# moment it starts. Every call is recorded (--sample-all), so each site's
# count is exact, and each workload's sites are compared with its truth.
# Prints, per run, the calls of the phase that were not counted, split by
# what serves them: glibc (inherited from the shell) or libstdc++ (probed
# once the agent has read the exec).
#   sudo RUNS=6 tools/follow/exec_loss.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
runs=${RUNS:-6}
agent=$build/memscope-bpf wl=$build/memscope-workload
dir=$(mktemp -d)
agent_pid=
cleanup() {
  [ -n "$agent_pid" ] && kill -INT "$agent_pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
chmod 755 "$dir"
for i in $(seq 1 "$runs"); do
  rm -f "$dir"/*
  # --wait-exit keeps each workload alive after its phase, so that the
  # agent reads its mappings (symbols) before it goes.
  "$agent" --follow-children --sample-all --top 0 -o "$dir/report.json" -- /bin/sh -c \
    "$wl --wait-exit --truth $dir/web.json --profile web --scale 200 --threads 2 & \
     $wl --wait-exit --truth $dir/game.json --profile game --scale 100 --threads 2 & wait" \
    >/dev/null 2>"$dir/agent.err" &
  agent_pid=$!
  for f in web game; do
    for _ in $(seq 600); do [ -s "$dir/$f.json" ] && break; sleep 0.05; done
  done
  sleep 1  # the truth is written after the phase; the agent reads the last sites
  for f in web game; do kill -USR1 "$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['pid'])" "$dir/$f.json")"; done
  wait "$agent_pid"
  agent_pid=
  python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
r = json.load(open(d + "/report.json"))
out = []
for name in ("web", "game"):
    t = json.load(open("%s/%s.json" % (d, name)))
    p = next(p for p in r["processes"] if p["pid"] == t["pid"])
    got = {}
    for s in p["sites"]:
        fn = s["frames"][0]["function"] if s["frames"] else "?"
        got[fn] = got.get(fn, 0) + s["estimated"]["count"]
    for kind, cxx in (("glibc", False), ("libstdc++", True)):
        sites = [s for s in t["sites"] if s["api"].startswith("operator") == cxx]
        want = sum(s["calls"] for s in sites)
        lost = want - sum(min(got.get(s["function"], 0), s["calls"]) for s in sites)
        if want:
            out.append("%s %s: %d of %d lost (%.1f%%)" % (name, kind, lost, want, 100.0 * lost / want))
print("; ".join(out))
PY
done
