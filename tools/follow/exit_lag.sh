#!/bin/bash
# How long the agent takes to exit after a command it follows has ended:
# a real compile (g++ -O2 of userspace/common/fs.cpp) under
# --follow-children, timed from the agent's "all targets exited" line to
# its exit. Prints one line per run and agent: the agent's path, seconds.
# Give two builds to compare them interleaved; COMPILES=N runs the compile
# N times one after another (a build's compiler runs); TOP=N passes --top N
# (default: the agent's own; --top 0 writes every site, 283 MB of JSON for
# five compiles, and the lag is then the writing).
#   sudo RUNS=3 [COMPILES=5] [TOP=0] tools/follow/exit_lag.sh BUILD_DIR [OTHER_BUILD_DIR]
set -euo pipefail
runs=${RUNS:-3}
src=$(cd "$(dirname "$0")/../.." && pwd)
first=$(cd "$1" && pwd)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
compiles=${COMPILES:-1}
cat >"$dir/cc.sh" <<CC
#!/bin/sh
for i in \$(seq 1 $compiles); do g++ -O2 -std=gnu++20 -I $src/userspace -I $src/include -I $first/bpf -isystem /usr/include/capstone \
  -c $src/userspace/common/fs.cpp -o $dir/fs.o; done
CC
chmod 755 "$dir/cc.sh"
lag() {
  local agent=$1/memscope-bpf
  "$agent" --follow-children ${TOP:+--top "$TOP"} -o "$dir/report.json" -- "$dir/cc.sh" >/dev/null 2>"$dir/agent.err" &
  local pid=$!
  until grep -q "all targets exited" "$dir/agent.err" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/agent.err" >&2; exit 1; }
    sleep 0.01
  done
  local t0 t1
  t0=$(date +%s.%N)
  wait "$pid"
  t1=$(date +%s.%N)
  echo "$agent $(echo "$t1 - $t0" | bc)"
}
for _ in $(seq 1 "$runs"); do
  for b in "$@"; do lag "$b"; done
done
