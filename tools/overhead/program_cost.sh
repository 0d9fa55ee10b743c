#!/usr/bin/env bash
# Average run time of memscope-bpf's BPF programs, from the kernel's own
# accounting (kernel.bpf_stats_enabled), on the overhead workload: where the
# time beyond the trap goes. The accounting itself adds a few tens of ns per
# run (two clock reads), so compare runs of this script, not absolute values.
#   sudo tools/overhead/program_cost.sh [PROFILE] [memscope-bpf options...]
#   sudo tools/overhead/program_cost.sh web --sample-all
#   sudo AGENT=/path/to/other/memscope-bpf tools/overhead/program_cost.sh web   (another build's agent)
set -euo pipefail
cd "$(dirname "$0")/../.."
agent=${AGENT:-build/memscope-bpf}
for bin in "$agent" build/memscope-workload; do
  [[ -x $bin ]] || { echo "program_cost: $bin is missing: cmake -S . -B build && make -C build -j2" >&2; exit 1; }
done
profile=${1:-web}
shift || true
was=$(sysctl -n kernel.bpf_stats_enabled)
trap 'sysctl -qw kernel.bpf_stats_enabled=$was' EXIT
sysctl -qw kernel.bpf_stats_enabled=1
out=$(mktemp -d)
"$agent" -o "$out/report.json" "$@" -- build/memscope-workload --profile "$profile" --threads 1 \
  --seconds 2 --warmup 0.2 >/dev/null 2>"$out/agent.err" &
agent=$!
sleep 1.5  # inside the measured window
bpftool prog show -j | python3 -c '
import json, sys
for p in json.load(sys.stdin):
    if p.get("name", "").startswith("ms_") and p.get("run_cnt"):
        print("%-12s %10d runs  %6.0f ns/run" % (p["name"], p["run_cnt"], p["run_time_ns"] / p["run_cnt"]))'
wait $agent
rm -rf "$out"
