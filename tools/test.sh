#!/usr/bin/env bash
# Set-up, then the whole test suite, then the sanitizer build's unit tests
# and fuzzers (tools/sanitize.sh). End-to-end tests need root; without it
# they are reported as skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
status=0
(cd build && ctest --output-on-failure --timeout 600) || status=$?
# Then the unit tests and the fuzzers under ASan and UBSan, in a build of
# their own (build-sanitize/, docs/fuzzing.md); both run whatever the first
# gives.
tools/sanitize.sh || status=$?
exit "$status"
