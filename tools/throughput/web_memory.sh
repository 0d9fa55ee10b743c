#!/bin/bash
# The agent's memory over a long run of the web profile, extrapolated from
# a measured one.
#
#   sudo tools/throughput/web_memory.sh [BUILD_DIR]
#
# Traces `memscope-workload --profile web --threads 2` (flat out, default
# sampling) by PID for its whole measured phase and reads the report:
# sampled blocks still live at the end (the web profile frees everything
# but its leak, site_leak_session_cache, one 1-4 KiB block every 4th
# request, so live blocks grow linearly with time), the aggregator's table
# bytes, and the agent's peak RSS. One hour is then:
#   live blocks  = measured live blocks / phase seconds * 3600,
#                  at most --max-live (the agent follows no more, as the kernel)
#   live table   = 33 bytes per slot (32-byte slot + control byte), slots the
#                  power of two that keeps the table at most 7/8 full
#   agent        = measured peak RSS - measured table bytes + one-hour tables
#
# Environment: SCALE (web iterations, default 1000000), MAX_LIVE (default
# 1048576, the agent's --max-live default), OUT (directory for the report).
set -euo pipefail

BUILD=${1:-$(cd "$(dirname "$0")/../.." && pwd)/build}
SCALE=${SCALE:-1000000}
MAX_LIVE=${MAX_LIVE:-1048576}
OUT=${OUT:-$(mktemp -d /tmp/memscope-web-memory.XXXXXX)}
mkdir -p "$OUT"
[ "$(id -u)" = 0 ] || { echo "web_memory.sh: needs root" >&2; exit 77; }
command -v jq >/dev/null || { echo "web_memory.sh: needs jq (apt-get install jq)" >&2; exit 1; }

source "$(dirname "$0")/lib.sh"

"$BUILD/memscope-workload" --profile web --threads 2 --scale "$SCALE" --wait-start --wait-exit \
  >"$OUT/workload.out" 2>"$OUT/workload.err" &
wl=$!
started+=("$wl")
wait_for "$OUT/workload.err" '^ready' 30
pid=$(awk '/^ready/{print $2}' "$OUT/workload.err")
"$BUILD/memscope-bpf" -p "$pid" --max-live "$MAX_LIVE" -o "$OUT/report.json" 2>"$OUT/agent.err" &
agent=$!
started+=("$agent")
wait_for "$OUT/agent.err" 'tracing PID' 60
t0=$(date +%s.%N)
kill -USR1 "$pid"
wait_for "$OUT/workload.err" '^done' 36000
t1=$(date +%s.%N)
kill -INT "$agent"
wait "$agent"
kill -USR1 "$pid"
wait "$wl" || true

jq -r --argjson phase "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')" --argjson max_live "$MAX_LIVE" '
  def slots(n): (n * 8 / 7) as $need | reduce range(0; 64) as $k (16; if . < $need then . * 2 else . end);
  .agent as $a |
  ($a.live_blocks / $phase) as $rate |
  ([($rate * 3600), $max_live] | min | floor) as $live_1h |
  (slots($live_1h) * 33) as $table_1h |
  ($a.max_rss_bytes - $a.table_bytes) as $base |
  "web, \(.sampling.records_received) records over \($phase * 100 | floor / 100) s: \($a.live_blocks) sampled blocks live at the end (\($rate | floor)/s), tables \($a.table_bytes) B, agent peak RSS \($a.max_rss_bytes) B",
  "one hour: \($live_1h) live blocks followed (max-live \($max_live)), live table \($table_1h / 1048576 * 10 | floor / 10) MiB, agent about \(($base + $table_1h) / 1048576 | floor) MiB (\($base / 1048576 | floor) MiB measured besides the tables)"
' "$OUT/report.json"
