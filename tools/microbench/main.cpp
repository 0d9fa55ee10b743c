#include <benchmark/benchmark.h>
#include <hwy/targets.h>

#include <cstdio>

namespace memscope::bench {
void register_decode_benchmarks();
void register_batch_sums_benchmarks();
void register_table_benchmarks();
void register_aggregator_benchmarks();
}  // namespace memscope::bench

int main(int argc, char** argv) {
  using namespace memscope::bench;
  std::fprintf(stderr, "memscope-microbench: SIMD kernels dispatch to %s here\n",
               hwy::TargetName(hwy::SupportedAndGeneratedTargets().front()));
  register_decode_benchmarks();
  register_batch_sums_benchmarks();
  register_table_benchmarks();
  register_aggregator_benchmarks();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
