// Whole batches through the aggregator (batch statistics, per-site and
// per-thread sums, live table), with the SIMD and the scalar batch kernels,
// on a small live set and on a million live blocks; and decode plus apply,
// everything the drain thread does after copying records out of the ring.
// Items are records.
#include <benchmark/benchmark.h>

#include "aggregate/aggregator.h"
#include "synthetic_records.h"

namespace memscope::bench {
namespace {

constexpr size_t kBatch = 65536;
constexpr size_t kStream = 4 * kBatch;

struct Fixture {
  ConfigHistory history;
  std::vector<RecordBatch> batches;
  std::vector<ms_record> records;
  Fixture(Stream stream, size_t live) {
    TierConfig c = stream == Stream::sample_all ? TierConfig::sample_all() : TierConfig{};
    history.next(c, 0, "bench");
    records = make_records(stream, kStream, live);
  }
};

void apply(benchmark::State& state, Stream stream, Kernels kernels, bool with_decode) {
  const size_t live = static_cast<size_t>(state.range(0));
  Fixture f(stream, live);
  Aggregator agg(f.history, kernels);
  RecordBatch b;
  // The steady live set goes in first, untimed.
  for (size_t i = 0; i < live; i += kBatch) {
    decode({f.records.data() + i, std::min(kBatch, live - i)}, 1ull << 40, b);
    agg.apply(b);
  }
  const ms_record* churn = f.records.data() + live;
  std::vector<RecordBatch> batches(kStream / kBatch);
  for (size_t k = 0; k < batches.size(); ++k) decode({churn + k * kBatch, kBatch}, 1ull << 40, batches[k]);
  for (auto _ : state) {
    for (size_t k = 0; k < batches.size(); ++k) {
      if (with_decode) {
        decode({churn + k * kBatch, kBatch}, 1ull << 40, b);
        agg.apply(b);
      } else {
        agg.apply(batches[k]);
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kStream));
  state.counters["live_blocks"] = static_cast<double>(agg.live().size());
  state.counters["table_bytes"] = static_cast<double>(agg.memory_bytes());
}

}  // namespace

void register_aggregator_benchmarks() {
  for (auto [stream, sname] : {std::pair{Stream::sample_all, "sample_all"}, std::pair{Stream::tiered, "tiered"}})
    for (auto [kernels, kname] : {std::pair{Kernels::simd, "simd"}, std::pair{Kernels::scalar, "scalar"}})
      benchmark::RegisterBenchmark(
          (std::string("BM_Apply/") + kname + "/" + sname).c_str(),
          [stream = stream, kernels = kernels](benchmark::State& s) { apply(s, stream, kernels, false); })
          ->Arg(0)
          ->Arg(1 << 20)
          ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_DecodeApply/simd/sample_all",
                               [](benchmark::State& s) { apply(s, Stream::sample_all, Kernels::simd, true); })
      ->Arg(0)
      ->Arg(1 << 20)
      ->Unit(benchmark::kMillisecond);
}

}  // namespace memscope::bench
