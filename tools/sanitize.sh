#!/usr/bin/env bash
# The sanitizer build: the unit tests and the fuzzers (tests/fuzz) built with
# clang under ASan and UBSan in build-sanitize/, then run (docs/fuzzing.md).
#   tools/sanitize.sh                   unit tests, and each fuzzer 20 s from its seed corpus
#   tools/sanitize.sh 600               each fuzzer 600 s (longer runs, by hand)
#   tools/sanitize.sh 600 elf_file      only the fuzzers whose name matches
# tools/test.sh runs it after the main suite; tools/setup.sh installs clang's
# runtimes. Inputs that crash are kept as build-sanitize/fuzz/<name>/crash-*.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
only=${2:-}

CC=clang CXX=clang++ cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMEMSCOPE_SANITIZE=ON \
  -DMEMSCOPE_FUZZ_SECONDS="$seconds" >/dev/null
targets=(memscope_fuzzers)
[[ -z $only ]] && targets+=(memscope_unit_tests)
cmake --build build-sanitize -j"$(nproc)" --target "${targets[@]}"
cd build-sanitize
if [[ -n $only ]]; then
  ctest --output-on-failure -j"$(nproc)" -R "^fuzz_.*(${only})"
else
  ctest --output-on-failure -j"$(nproc)" -R '^(unit_sanitized|fuzz_.*)$'
fi
