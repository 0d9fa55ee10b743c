#!/usr/bin/env bash
# Set-up, then the main job on an embedded default: start the bundled
# workload (web-server profile), attach to it by PID, print a summary line
# every second, and write the report to memscope-report.json.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh

REPORT=${1:-memscope-report.json}
build/memscope-workload --profile web --scale 100000 --threads 2 --truth memscope-truth.json --wait-start \
  2> >(grep -v '^ready' >&2) > /dev/null &
WL=$!
sleep 0.3
STATUS=$(mktemp)
trap 'rm -f "$STATUS"' EXIT
build/memscope-bpf --pid "$WL" --interval 1 --top 10 -o "$REPORT" 2> >(tee "$STATUS" >&2) &
AGENT=$!
# Start the workload's measured phase once the probes are in.
for _ in $(seq 1 200); do
  grep -q "tracing PID" "$STATUS" && break
  sleep 0.05
done
kill -USR1 "$WL"
wait "$WL"
wait "$AGENT"
echo "demo: report in $REPORT, the workload's ground truth in memscope-truth.json" >&2
