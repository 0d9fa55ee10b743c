#!/bin/sh
# with_speedscope_schema.sh CACHE_DIR VERSION TEST [ARGS...]
# Runs TEST with SPEEDSCOPE_SCHEMA naming the JSON schema of speedscope's
# file format as the speedscope npm package VERSION publishes it
# (dist/release/file-format-schema.json), fetched once with `npm pack` into
# CACHE_DIR. Exits 77 (ctest: skipped) where npm is not installed.
set -eu
cache=$1 version=$2
shift 2
dir=$cache/speedscope-$version
schema=$dir/file-format-schema.json
if [ ! -s "$schema" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "SKIPPED: npm is not installed (it comes with Node.js)" >&2
    exit 77
  fi
  mkdir -p "$dir"
  tarball=$(cd "$dir" && npm pack --silent "speedscope@$version")
  tar -xzf "$dir/$tarball" -C "$dir" --strip-components=3 package/dist/release/file-format-schema.json
  rm -f "$dir/$tarball"
fi
SPEEDSCOPE_SCHEMA=$schema exec "$@"
