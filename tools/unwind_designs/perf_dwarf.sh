#!/usr/bin/env bash
# Design (b) of docs/unwinding.md, measured with the real perf: every call
# of malloc in tests/e2e/unwind_tree.cpp (its known call tree, built -O2 -g
# and -O2 -g -fno-omit-frame-pointer) recorded by a uprobe with a copy of
# the user stack and registers (`--call-graph dwarf,SIZE`), unwound after
# the fact by `perf script` and by libdw's dwfl_frame (dwfl_unwind.cpp,
# built here with g++ as the program is). Against, in the same run: the
# program untraced, perf with no call graph, and perf's frame-pointer call
# graph. Needs root, perf, g++ and libdw-dev.
#
#   sudo tools/unwind_designs/perf_dwarf.sh            # 5 repeats, 100 rounds of the tree
#   sudo REPEATS=3 ROUNDS=50 tools/unwind_designs/perf_dwarf.sh
#   sudo MMAP=512K tools/unwind_designs/perf_dwarf.sh  # perf's default ring: counts lost samples
#   sudo KEEP=1 MODES=dwarf8192 REPEATS=1 tools/unwind_designs/perf_dwarf.sh  # keeps the last perf.data
#
# Each run: the program starts and waits (SIGUSR1); perf record attaches by
# PID with its events disabled (-D -1) and is enabled through its control
# fifo; the program runs ROUNDS rounds of the tree (172 allocations each)
# and says "done"; perf stops. Per run it measures the program's wall time
# (SIGUSR1 to "done") and CPU time (/proc/PID/schedstat, which includes the
# probes' kernel time), the samples and lost samples, the file's size and
# one sample record's size (perf report -D), perf script's CPU time with and
# without the call graph (-G: then perf neither unwinds nor symbolizes the
# frames; Debian's perf unwinds with libunwind, not libdw: see its dynamic
# symbols, `nm -D /usr/bin/perf`), dwfl_unwind's time per sample, and both
# unwinders' accuracy (check_stacks.py). It prints medians over REPEATS: times per call or per
# sample, and ratios against the untraced run, perf without a call graph
# (-g off) and perf's frame-pointer call graph.
#
# The ring buffer (MMAP, per CPU) is sized so that no sample is lost at the
# default rounds: a lost sample costs the program less than a written one.
# The probe is registered as a tracefs uprobe event of its own group
# (removed on exit, with tracefs unmounted if this script mounted it).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=${ROUNDS:-100}
REPEATS=${REPEATS:-5}
MMAP=${MMAP:-512M}
MODES=${MODES:-"none nocg fp dwarf4096 dwarf8192 dwarf16384"}
LIBC=${LIBC:-/lib/x86_64-linux-gnu/libc.so.6}
group=unwdesigns$$
work=$(mktemp -d /tmp/perf_dwarf.XXXXXX)
mounted=0
prog=

cleanup() {
  if [[ -n $prog ]]; then kill -9 "$prog" 2>/dev/null || true; fi
  perf probe -q -d "$group:*" 2>/dev/null || true
  if ((mounted)); then umount /sys/kernel/tracing 2>/dev/null || true; fi
  if [[ -n ${KEEP:-} ]]; then echo "perf_dwarf: the last run's files are in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

if [[ ! -e /sys/kernel/tracing/uprobe_events ]]; then
  mount -t tracefs nodev /sys/kernel/tracing
  mounted=1
fi
perf probe -q -x "$LIBC" -a "$group:malloc=malloc"

g++ -O2 -g -o "$work/unwind_tree" "$repo/tests/e2e/unwind_tree.cpp"
g++ -O2 -g -fno-omit-frame-pointer -o "$work/unwind_tree_fp" "$repo/tests/e2e/unwind_tree.cpp"
g++ -O2 -std=c++20 -o "$work/dwfl_unwind" "$repo/tools/unwind_designs/dwfl_unwind.cpp" -ldw -lelf

callgraph() {
  case $1 in
    nocg) echo "" ;;
    fp) echo "--call-graph fp" ;;
    dwarf*) echo "--call-graph dwarf,${1#dwarf}" ;;
  esac
}

oncpu_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }

# Reads the program's stderr (fd errfd) up to a line equal to $1, keeping it.
read_until() {
  local line
  while IFS= read -r -u "$errfd" line; do
    echo "$line" >>"$work/err"
    [[ $line == "$1" ]] && return 0
  done
  echo "perf_dwarf: the program ended before \"$1\"" >&2
  return 1
}

# perf script's CPU time (ms) on this run's perf.data, its stacks printed
# to $1; -G hides the call graph, and perf then neither unwinds nor
# symbolizes the frames: the difference is the agent's stack work.
script_cpu_ms() {
  local out=$1
  shift
  perf stat -x, -e task-clock -o "$work/stat.txt" -- \
    perf script "$@" -i "$work/perf.data" -F ip,sym,dso --no-inline >"$out" 2>/dev/null
  awk -F, '$3 == "task-clock" {print $1}' "$work/stat.txt"
}

# One run: prints "build mode key=value..." on stdout.
run_one() {
  local build=$1 mode=$2 bin="$work/unwind_tree" rec=
  [[ $build == fp ]] && bin="$work/unwind_tree_fp"
  rm -f "$work"/{err,errfifo,ctl,ack,perf.data,script.txt,stat.txt,dwfl.txt,dwfl.err}
  mkfifo "$work/errfifo" "$work/ctl" "$work/ack"
  "$bin" "$ROUNDS" 2>"$work/errfifo" &
  prog=$!
  exec {errfd}<"$work/errfifo"
  read_until ready
  if [[ $mode != none ]]; then
    # shellcheck disable=SC2046
    perf record -q -B -o "$work/perf.data" -e "$group:malloc" \
      $(callgraph "$mode") -m "$MMAP" -D -1 --control "fifo:$work/ctl,$work/ack" -p "$prog" 2>"$work/rec.err" &
    rec=$!
    exec {ctl}>"$work/ctl" {ack}<"$work/ack"
    echo enable >&"$ctl"
    read -r -u "$ack" _
  fi
  local cpu0 t0 t1 cpu1
  cpu0=$(oncpu_ns "$prog")
  t0=$EPOCHREALTIME
  kill -USR1 "$prog"
  read_until "done"
  t1=$EPOCHREALTIME
  cpu1=$(oncpu_ns "$prog")
  if [[ -n $rec ]]; then
    echo disable >&"$ctl"
    read -r -u "$ack" _
    echo stop >&"$ctl"
    wait "$rec"
    exec {ctl}>&- {ack}<&-
  fi
  kill -USR1 "$prog"
  wait "$prog"
  prog=
  exec {errfd}<&-
  local wall_ns=$(((${t1/./} - ${t0/./}) * 1000)) fields
  fields="wall_ns=$wall_ns cpu_ns=$((cpu1 - cpu0))"
  if [[ -n $rec ]]; then
    local stats samples lost rec_bytes
    stats=$(perf report -i "$work/perf.data" --stats 2>/dev/null)
    samples=$(awk '/SAMPLE events:/ {print $3; exit}' <<<"$stats")
    lost=$(awk '/LOST_SAMPLES events:/ {n = $3} END {print n + 0}' <<<"$stats")
    # "1 782893543676 0x1868 [0x2120]: PERF_RECORD_SAMPLE(...)": [size].
    rec_bytes=$(set +o pipefail; perf report -D -i "$work/perf.data" 2>/dev/null | grep -m1 -o '\[0x[0-9a-f]*\]: PERF_RECORD_SAMPLE')
    rec_bytes=${rec_bytes#[}
    rec_bytes=$((${rec_bytes%%]*}))
    fields+=" samples=$samples lost=$lost file_bytes=$(stat -c %s "$work/perf.data") record_bytes=$rec_bytes"
    fields+=" script_cpu_ms=$(script_cpu_ms "$work/script.txt")"
    fields+=" script_nocg_cpu_ms=$(script_cpu_ms /dev/null -G)"
    if [[ $mode != nocg ]]; then
      fields+=" $(python3 "$repo/tools/unwind_designs/check_stacks.py" "$work/err" "$ROUNDS" <"$work/script.txt")"
    fi
    if [[ $mode == dwarf* ]]; then
      "$work/dwfl_unwind" "$work/perf.data" >"$work/dwfl.txt" 2>"$work/dwfl.err"
      fields+=" $(tail -n1 "$work/dwfl.err")"
      fields+=" $(python3 "$repo/tools/unwind_designs/check_stacks.py" "$work/err" "$ROUNDS" dwfl_ <"$work/dwfl.txt")"
    fi
  fi
  echo "$build $mode $fields"
}

echo "perf_dwarf: $(perf version), $(nproc) CPUs, ROUNDS=$ROUNDS REPEATS=$REPEATS MMAP=$MMAP" >&2
for ((r = 1; r <= REPEATS; r++)); do
  for build in O2 fp; do
    for mode in $MODES; do
      echo "perf_dwarf: repeat $r $build $mode" >&2
      run_one "$build" "$mode" | tee -a "$work/runs.txt" >&2
    done
  done
done
python3 "$repo/tools/unwind_designs/table.py" <"$work/runs.txt"
