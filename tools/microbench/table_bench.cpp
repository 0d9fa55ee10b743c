// The aggregator's hash tables: live-block churn (one insert and one erase
// of (process, pointer) keys per allocation/free pair) at live-set sizes
// from cache-resident to far beyond it, against std::unordered_map (what
// the aggregator used before) in the same run; per-site updates; and the
// memory each live entry costs. Items are table updates.
#include <benchmark/benchmark.h>
#include <malloc.h>

#include <random>
#include <unordered_map>
#include <vector>

#include "aggregate/aggregator.h"
#include "aggregate/live_table.h"

namespace memscope::bench {
namespace {

struct StdLiveHash {
  size_t operator()(const LiveKey& k) const { return live_key_hash(k.tgid, k.ptr); }
};
using StdLiveMap = std::unordered_map<LiveKey, LiveBlock, StdLiveHash>;

// Heap-like pointers: 16-byte aligned, mostly small steps, in two processes.
std::vector<LiveKey> keys(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<LiveKey> out(n);
  uint64_t p = 0x55550000'0000ull;
  for (auto& k : out) {
    p += 16 * (1 + rng() % 8);
    k = {static_cast<uint32_t>(1000 + (rng() & 1)), p};
  }
  return out;
}

// Steady state with `live` entries: each step inserts a new block and
// erases the oldest, as allocations and frees do.
void live_churn(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  const auto ks = keys(live * 2, 7);
  LiveTable t;
  for (size_t i = 0; i < live; ++i) t.insert(ks[i], live_key_hash(ks[i].tgid, ks[i].ptr)).first->set(1, 32, 1.0f, 0);
  size_t in = live, out = 0;
  for (auto _ : state) {
    const LiveKey& a = ks[in];
    const LiveKey& f = ks[out];
    t.insert(a, live_key_hash(a.tgid, a.ptr)).first->set(1, 32, 1.0f, 0);
    t.erase(f, live_key_hash(f.tgid, f.ptr));
    if (++in == ks.size()) in = 0;
    if (++out == ks.size()) out = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));
  state.counters["bytes_per_entry"] = static_cast<double>(t.memory_bytes()) / static_cast<double>(t.size());
}

// The same with the hashes known a batch ahead and slots prefetched, as
// the aggregator runs it (decode computes every hash of a batch).
void live_churn_prefetched(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  const auto ks = keys(live * 2, 7);
  std::vector<uint64_t> hs(ks.size());
  for (size_t i = 0; i < ks.size(); ++i) hs[i] = live_key_hash(ks[i].tgid, ks[i].ptr);
  LiveTable t;
  for (size_t i = 0; i < live; ++i) t.insert(ks[i], hs[i]).first->set(1, 32, 1.0f, 0);
  const size_t m = ks.size();
  size_t in = live, out = 0;
  constexpr size_t kAhead = 16;
  for (auto _ : state) {
    t.prefetch(hs[(in + kAhead) % m]);
    t.prefetch(hs[(out + kAhead) % m]);
    t.insert(ks[in], hs[in]).first->set(1, 32, 1.0f, 0);
    t.erase(ks[out], hs[out]);
    if (++in == m) in = 0;
    if (++out == m) out = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));
}

void live_churn_std(benchmark::State& state) {
  const size_t live = static_cast<size_t>(state.range(0));
  const auto ks = keys(live * 2, 7);
  StdLiveMap t;
  for (size_t i = 0; i < live; ++i) t[ks[i]] = {1, 32, 1.0, 0};
  size_t in = live, out = 0;
  for (auto _ : state) {
    t[ks[in]] = {1, 32, 1.0, 0};
    t.erase(ks[out]);
    if (++in == ks.size()) in = 0;
    if (++out == ks.size()) out = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 2));
}

// Memory per live entry, measured as heap bytes in use (mallinfo2) before
// and after filling a table with `n` entries.
template <class Fill>
double heap_bytes_per_entry(size_t n, Fill fill) {
  malloc_trim(0);
  const size_t before = mallinfo2().uordblks + mallinfo2().hblkhd;
  const size_t after = fill();
  return static_cast<double>(after - before) / static_cast<double>(n);
}

void live_memory(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  const auto ks = keys(n, 11);
  double ours = 0, std_map = 0;
  for (auto _ : state) {
    LiveTable t;
    ours = heap_bytes_per_entry(n, [&] {
      for (const auto& k : ks) t.insert(k, live_key_hash(k.tgid, k.ptr)).first->set(1, 32, 1.0f, 0);
      return mallinfo2().uordblks + mallinfo2().hblkhd;
    });
    state.PauseTiming();
    {
      StdLiveMap m;
      std_map = heap_bytes_per_entry(n, [&] {
        for (const auto& k : ks) m[k] = {1, 32, 1.0, 0};
        return mallinfo2().uordblks + mallinfo2().hblkhd;
      });
    }
    state.ResumeTiming();
  }
  state.counters["bytes_per_entry"] = ours;
  state.counters["std_unordered_map_bytes_per_entry"] = std_map;
}

// Per-site counter updates over `state.range(0)` sites, in the aggregator's
// SiteTable or in std::unordered_map.
template <class Table>
void site_updates(benchmark::State& state) {
  const uint32_t sites = static_cast<uint32_t>(state.range(0));
  std::mt19937 rng(3);
  std::vector<uint32_t> ids(1 << 16);
  for (auto& id : ids) id = rng() % sites;
  Table t;
  size_t i = 0;
  for (auto _ : state) {
    SiteStats& s = t[ids[i++ & 0xffff]];
    s.count += 1;
    s.bytes += 32;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

}  // namespace

void register_table_benchmarks() {
  for (auto* b : {benchmark::RegisterBenchmark("BM_LiveChurn/open_table", live_churn),
                  benchmark::RegisterBenchmark("BM_LiveChurn/open_table_prefetched", live_churn_prefetched),
                  benchmark::RegisterBenchmark("BM_LiveChurn/std_unordered_map", live_churn_std)})
    b->Arg(1 << 10)->Arg(1 << 16)->Arg(1 << 20)->Arg(4 << 20);
  benchmark::RegisterBenchmark("BM_LiveMemory", live_memory)
      ->Arg(1 << 20)
      ->Arg(3 << 20)
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("BM_SiteUpdate/open_table", site_updates<SiteTable>)->Arg(64)->Arg(65536);
  benchmark::RegisterBenchmark("BM_SiteUpdate/std_unordered_map", site_updates<std::unordered_map<uint32_t, SiteStats>>)
      ->Arg(64)
      ->Arg(65536);
}

}  // namespace memscope::bench
