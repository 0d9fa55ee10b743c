#!/usr/bin/env bash
# Set-up, then the whole test suite. End-to-end tests need root; without it
# they are reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
cd build
ctest --output-on-failure --timeout 600
