# Shared by the throughput scripts (sourced): processes they start are
# killed on any exit (a failed attach would otherwise leave a workload
# parked before its phase), and waiting for a line in a log file.
started=()
cleanup() {
  local p
  for p in "${started[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

wait_for() {  # FILE PATTERN TIMEOUT_S
  local deadline=$(( $(date +%s) + $3 ))
  until grep -q "$2" "$1" 2>/dev/null; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "$(basename "$0"): timed out waiting for '$2' in $1" >&2; return 1; }
    sleep 0.02
  done
}
