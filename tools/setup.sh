#!/usr/bin/env bash
# Installs what memscope-bpf and its tests need from Debian 12's packages (as
# root), configures and builds. The binary ends up at build/memscope-bpf.
#   tools/setup.sh                 the agent, the workload and the tests
#   tools/setup.sh --benchmarks    also Google Benchmark, the micro-benchmarks
#                                  and the overhead benchmark (-DMEMSCOPE_BENCHMARKS=ON)
set -euo pipefail
cd "$(dirname "$0")/.."
benchmarks=()
[[ ${1:-} == --benchmarks ]] && benchmarks=(-DMEMSCOPE_BENCHMARKS=ON)

PACKAGES=(
  build-essential cmake pkg-config clang llvm
  libbpf-dev bpftool libelf-dev libdw-dev
  libcli11-dev nlohmann-json3-dev catch2 libvalijson-dev
  libhwy-dev libcapstone-dev protobuf-compiler libprotobuf-dev zlib1g-dev
  golang-github-google-pprof-dev golang-go  # pprof's profile.proto; go tool pprof reads the export in a test
  prometheus-cpp-dev libcivetweb-dev        # --metrics-addr: the metric families and the 0.0.4 text; the HTTP server
  prometheus python3-prometheus-client      # promtool, a Prometheus server and the OpenMetrics reference parser check it in tests
  chromium                                  # headless, opens the HTML report in a test (it draws, no script error)
  libclang-rt-14-dev                        # clang's ASan, UBSan and libFuzzer runtimes: tools/sanitize.sh
  python3 debuginfod util-linux libjemalloc2 libtcmalloc-minimal4 libmimalloc2.0 libmimalloc-dev jq
)
((${#benchmarks[@]})) && PACKAGES+=(libbenchmark-dev)
# npm (speedscope's published schema, for a test) comes with the host's Node.js here (NodeSource's
# nodejs, which conflicts with Debian's npm package); Debian's only where no node is installed.
command -v npm >/dev/null || command -v node >/dev/null || PACKAGES+=(npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${benchmarks[@]}" >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/memscope-bpf" >&2
