// Batch statistics (per group, entry point and size class): the SIMD
// kernel on every instruction set this CPU has, against the scalar
// reference, on the same decoded batch. Items are records.
#include <benchmark/benchmark.h>

#include "aggregate/batch_sums.h"
#include "simd_targets.h"
#include "synthetic_records.h"

namespace memscope::bench {
namespace {

constexpr size_t kBatch = 65536;  // the drainer's largest batch

RecordBatch batch_of(Stream stream) {
  RecordBatch b;
  decode(make_records(stream, kBatch, 0), 1ull << 40, b);
  return b;
}

void run(benchmark::State& state, Stream stream, bool scalar) {
  const RecordBatch b = batch_of(stream);
  BatchSums sums;
  for (auto _ : state) {
    if (scalar) sum_batch_scalar(b, sums);
    else sum_batch(b, sums);
    benchmark::DoNotOptimize(sums);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * b.count()));
}

}  // namespace

void register_batch_sums_benchmarks() {
  for (auto [stream, name] : {std::pair{Stream::sample_all, "sample_all"}, std::pair{Stream::tiered, "tiered"}}) {
    benchmark::RegisterBenchmark((std::string("BM_BatchSums/scalar/") + name).c_str(),
                                 [stream = stream](benchmark::State& s) { run(s, stream, true); });
    benchmark::RegisterBenchmark((std::string("BM_BatchSums/simd_dispatch/") + name).c_str(),
                                 [stream = stream](benchmark::State& s) { run(s, stream, false); });
    for (int64_t t : simd_targets())
      benchmark::RegisterBenchmark((std::string("BM_BatchSums/") + target_name(t) + "/" + name).c_str(),
                                   [stream = stream, t](benchmark::State& s) {
                                     PinnedTarget pin(t);
                                     run(s, stream, false);
                                   });
  }
}

}  // namespace memscope::bench
