// Decoding ring-buffer records into columns: SIMD on every instruction set
// this CPU has against the scalar reference. Items are records.
#include <benchmark/benchmark.h>

#include "aggregate/record_batch.h"
#include "simd_targets.h"
#include "synthetic_records.h"

namespace memscope::bench {
namespace {

void run(benchmark::State& state, bool scalar) {
  const auto records = make_records(Stream::sample_all, static_cast<size_t>(state.range(0)), 0);
  RecordBatch b;
  for (auto _ : state) {
    if (scalar) decode_scalar(records, 1ull << 40, b);
    else decode(records, 1ull << 40, b);
    benchmark::DoNotOptimize(b.ptr.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * records.size() * sizeof(ms_record)));
}

}  // namespace

void register_decode_benchmarks() {
  // 1024: a batch at a few hundred thousand records per second and the
  // 2 ms timer; 65536: the largest batch.
  benchmark::RegisterBenchmark("BM_Decode/scalar", [](benchmark::State& s) { run(s, true); })->Arg(1024)->Arg(65536);
  benchmark::RegisterBenchmark("BM_Decode/simd_dispatch", [](benchmark::State& s) { run(s, false); })
      ->Arg(1024)
      ->Arg(65536);
  for (int64_t t : simd_targets())
    benchmark::RegisterBenchmark((std::string("BM_Decode/") + target_name(t)).c_str(), [t](benchmark::State& s) {
      PinnedTarget pin(t);
      run(s, false);
    })->Arg(65536);
}

}  // namespace memscope::bench
