#!/bin/bash
# End-to-end throughput and cost of the agent against a producer running
# flat out (tools/workload, game profile, two threads on two cores).
#
#   sudo tools/throughput/run.sh [BUILD_DIR]
#
# Two runs, each: start the workload held before its measured phase
# (--wait-start --wait-exit), attach build/memscope-bpf by PID, release the
# phase (SIGUSR1), stop the agent when the workload reports "done", read the
# agent's JSON report.
#   1. --sample-all: every call becomes a record. Reports records drained
#      per second of the phase, records dropped (counted in the kernel), and
#      agent CPU seconds per million records.
#   2. default sampling: reports the agent's CPU as a percentage of the CPU
#      the traced process used over the same interval.
# The agent measures both CPU figures itself (report key `agent`: getrusage
# of the agent, /proc/PID/stat of the target, from attach to the end).
#
# Environment: SCALE_ALL (sample-all iterations, default 4000), SCALE_DEFAULT
# (default-mode iterations, default 20000), RUNS (repetitions of each,
# default 1), RINGBUF (ring-buffer bytes, default: the agent's default),
# OUT (directory for reports and logs, default a temporary one).
set -euo pipefail

BUILD=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build}
AGENT=$BUILD/memscope-bpf
WORKLOAD=$BUILD/memscope-workload
SCALE_ALL=${SCALE_ALL:-4000}
SCALE_DEFAULT=${SCALE_DEFAULT:-20000}
RUNS=${RUNS:-1}
OUT=${OUT:-$(mktemp -d /tmp/memscope-throughput.XXXXXX)}
mkdir -p "$OUT"

[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (BPF and uprobes)" >&2; exit 77; }
for b in "$AGENT" "$WORKLOAD"; do [ -x "$b" ] || { echo "run.sh: $b not built" >&2; exit 1; }; done
command -v jq >/dev/null || { echo "run.sh: needs jq (apt-get install jq)" >&2; exit 1; }

source "$(dirname "$0")/lib.sh"
now() { date +%s.%N; }

# One traced run; prints one JSON line of measured figures.
run_once() {  # NAME SCALE AGENT_FLAGS...
  local name=$1 scale=$2; shift 2
  local dir=$OUT/$name
  mkdir -p "$dir"
  "$WORKLOAD" --profile game --threads 2 --scale "$scale" --wait-start --wait-exit \
    >"$dir/workload.out" 2>"$dir/workload.err" &
  local wl=$!
  started+=("$wl")
  wait_for "$dir/workload.err" '^ready' 30
  local pid
  pid=$(awk '/^ready/{print $2}' "$dir/workload.err")
  local ring=()
  [ -n "${RINGBUF:-}" ] && ring=(--ringbuf-size "$RINGBUF")
  "$AGENT" -p "$pid" "$@" "${ring[@]}" -o "$dir/report.json" 2>"$dir/agent.err" &
  local agent=$!
  started+=("$agent")
  wait_for "$dir/agent.err" 'tracing PID' 60
  local t0 t1
  t0=$(now)
  kill -USR1 "$pid"
  wait_for "$dir/workload.err" '^done' 3600
  t1=$(now)
  kill -INT "$agent"
  wait "$agent"
  kill -USR1 "$pid"
  wait "$wl" || true
  jq -c --arg name "$name" --argjson phase "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" '{
      run: $name,
      phase_s: $phase,
      calls: (.exact.allocation_calls + .exact.free_calls),
      records_drained: .sampling.records_received,
      records_submitted: .sampling.sampled_events,
      records_dropped: .sampling.dropped_events,
      records_per_s: (.sampling.records_received / $phase),
      agent_cpu_s: (.agent.cpu_user_s + .agent.cpu_system_s),
      agent_cpu_s_per_million_records:
        (if .sampling.records_received > 0
         then (.agent.cpu_user_s + .agent.cpu_system_s) / .sampling.records_received * 1e6 else null end),
      target_cpu_s: .agent.target_cpu_s,
      agent_cpu_pct_of_target:
        (if .agent.target_cpu_s > 0
         then (.agent.cpu_user_s + .agent.cpu_system_s) / .agent.target_cpu_s * 100 else null end),
      agent_max_rss_bytes: .agent.max_rss_bytes,
      drain_batches: .agent.drain_batches
    }' "$dir/report.json"
}

echo "run.sh: reports and logs in $OUT" >&2
untraced_t0=$(now)
"$WORKLOAD" --profile game --threads 2 --scale "$SCALE_ALL" >/dev/null
echo "run.sh: untraced, game x$SCALE_ALL: $(awk -v a="$untraced_t0" -v b="$(now)" 'BEGIN{printf "%.3f", b - a}') s" >&2

results=$OUT/results.jsonl
: >"$results"
# Not in a pipeline: run_once must run in this shell, so that the exit
# trap knows what it started.
for r in $(seq 1 "$RUNS"); do
  run_once "sample-all-$r" "$SCALE_ALL" --sample-all >"$OUT/last.json"
  cat "$OUT/last.json" >>"$results" && cat "$OUT/last.json"
  run_once "default-$r" "$SCALE_DEFAULT" >"$OUT/last.json"
  cat "$OUT/last.json" >>"$results" && cat "$OUT/last.json"
done

jq -rs '
  (map(select(.run | startswith("sample-all")))) as $all |
  (map(select(.run | startswith("default")))) as $dflt |
  "sample-all: \($all | map(.records_per_s | floor) | join(", ")) records/s drained; dropped \($all | map(.records_dropped) | join(", ")); agent \($all | map(.agent_cpu_s_per_million_records * 1000 | floor / 1000) | join(", ")) CPU s per million records",
  "default:    agent CPU \($dflt | map(.agent_cpu_pct_of_target * 100 | floor / 100) | join(", ")) % of the target'"'"'s CPU (\($dflt | map(.records_drained) | join(", ")) records)"
' "$results"
