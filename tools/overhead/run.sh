#!/usr/bin/env bash
# The overhead benchmark (see README.md here): every configuration on every
# workload profile, interleaved rounds, a table on stdout, JSON in
# build/overhead.json. Needs root and a build (cmake + make) first.
#   sudo tools/overhead/run.sh [--rounds N] [--seconds S] [--profiles web,game] [--rows ...] [-o FILE]
set -euo pipefail
exec python3 "$(dirname "$0")/overhead.py" "$@"
