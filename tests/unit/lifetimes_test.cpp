#include <catch2/catch.hpp>

#include <cmath>
#include <random>

#include "aggregate/aggregator.h"
#include "aggregate/record_batch.h"

using namespace memscope;

namespace {
constexpr uint32_t kTgid = 100;

// A record at `units` of the record clock (1.024 us each).
ms_record rec(uint32_t kind, uint64_t ptr, uint64_t size, uint32_t site, uint32_t tier, uint64_t units,
              uint32_t tgid = kTgid) {
  ms_record r{};
  r.ptr = ptr;
  r.size_lo = static_cast<uint32_t>(size);
  r.size_hi = static_cast<uint16_t>(size >> 32);
  r.kind_api = ms_pack_kind_api(kind, kind == MS_KIND_FREE ? MS_API_FREE : MS_API_MALLOC);
  r.tier_epoch = ms_pack_tier_epoch(tier, 0);
  r.tgid = tgid;
  r.tid = tgid;
  r.site_id = kind == MS_KIND_FREE ? MS_NO_SITE : site;
  r.time = static_cast<uint32_t>(units);
  return r;
}
ms_record alloc(uint64_t ptr, uint64_t size, uint32_t site, uint32_t tier, uint64_t units) {
  return rec(MS_KIND_ALLOC, ptr, size, site, tier, units);
}
ms_record release(uint64_t ptr, uint64_t units, uint32_t tgid = kTgid) {
  return rec(MS_KIND_FREE, ptr, 0, MS_NO_SITE, 0, units, tgid);
}
// Record-clock units in `ns`, rounded up: a lifetime of at least ns.
uint64_t units(uint64_t ns) { return (ns + 1023) >> MS_TIME_SHIFT; }

void apply(Aggregator& agg, const std::vector<ms_record>& in, uint64_t now_units) {
  RecordBatch b;
  decode(in, now_units << MS_TIME_SHIFT, b);
  agg.apply(b);
}

ConfigHistory quarter_half_one() {
  ConfigHistory h;
  TierConfig c;
  c.rate = {0.25, 0.5, 1.0};  // weights 4, 2, 1
  h.next(c, 0, "initial");
  return h;
}
}  // namespace

TEST_CASE("lifetime buckets: each bound starts the next bucket") {
  CHECK(lifetime_bucket(0) == kUnder1ms);
  CHECK(lifetime_bucket(999'999) == kUnder1ms);
  CHECK(lifetime_bucket(1'000'000) == kUnder10ms);
  CHECK(lifetime_bucket(9'999'999) == kUnder10ms);
  CHECK(lifetime_bucket(10'000'000) == kUnder100ms);
  CHECK(lifetime_bucket(100'000'000) == kUnder1s);
  CHECK(lifetime_bucket(1'000'000'000) == kUnder10s);
  CHECK(lifetime_bucket(9'999'999'999) == kUnder10s);
  CHECK(lifetime_bucket(10'000'000'000) == kLonger);
  CHECK(lifetime_bucket(UINT64_MAX) == kLonger);
  CHECK(kLifetimeBucketNames[kEndUnseen] == "end_unseen");
}

TEST_CASE("aggregator: each ended block in its lifetime bucket, weighted as it was sampled") {
  const ConfigHistory h = quarter_half_one();
  Aggregator agg(h);
  const uint64_t t0 = 5000;
  // 976 units = 999,424 ns: under 1 ms; 977 = 1,000,448 ns: not.
  apply(agg,
        {alloc(0x10, 100, 1, MS_TIER_SMALL, t0),     // weight 4
         alloc(0x20, 300, 1, MS_TIER_SMALL, t0),     // weight 4
         alloc(0x30, 2000, 1, MS_TIER_MEDIUM, t0),   // weight 2
         alloc(0x40, 100000, 1, MS_TIER_LARGE, t0),  // weight 1
         alloc(0x50, 64, 1, MS_TIER_SMALL, t0),      // weight 4, stays live
         alloc(0x60, 128, 2, MS_TIER_FORCED, t0),    // weight 1, its free is never seen
         release(0x10, t0 + 976),                    // lived 999 us
         release(0x20, t0 + 977),                    // lived 1.0004 ms
         release(0x30, t0 + units(50'000'000)),      // 50 ms
         release(0x10, t0 + 2000, kTgid + 1)},       // another process's block: unmatched
        t0 + 100000);
  // 0x40 lives 20 s; 0x60's pointer comes back from site 3 without a free.
  const uint64_t t1 = t0 + units(20'000'000'000);
  apply(agg, {release(0x40, t1), alloc(0x60, 32, 3, MS_TIER_SMALL, t1)}, t1 + 10);

  REQUIRE(agg.lifetimes(1) != nullptr);
  const SiteLifetimes& l = *agg.lifetimes(1);
  const auto& b = l.buckets;
  CHECK(b[kUnder1ms].sampled == 1);
  CHECK(b[kUnder1ms].count == 4);
  CHECK(b[kUnder1ms].bytes == 400);
  CHECK(b[kUnder1ms].var_count == 12);  // w(w-1)
  CHECK(b[kUnder1ms].var_bytes == 12 * 100.0 * 100);
  CHECK(b[kUnder10ms].sampled == 1);
  CHECK(b[kUnder10ms].bytes == 1200);
  CHECK(b[kUnder100ms].count == 2);
  CHECK(b[kUnder100ms].bytes == 4000);
  CHECK(b[kUnder100ms].var_bytes == 2 * 2000.0 * 2000);
  CHECK(b[kUnder1s].sampled == 0);
  CHECK(b[kUnder10s].sampled == 0);
  CHECK(b[kLonger].count == 1);
  CHECK(b[kLonger].var_count == 0);  // sampled with certainty
  CHECK(b[kEndUnseen].sampled == 0);

  // The buckets and the live sums add up to the site's allocations.
  const SiteStats& s = agg.sites().at(1);
  double count = s.live_count, bytes = s.live_bytes, var_bytes = s.var_live_bytes;
  uint64_t sampled = s.sampled_live;
  for (const auto& x : b) {
    count += x.count;
    bytes += x.bytes;
    var_bytes += x.var_bytes;
    sampled += x.sampled;
  }
  CHECK(count == s.count);
  CHECK(bytes == s.bytes);
  CHECK(var_bytes == s.var_bytes);
  CHECK(sampled == s.sampled);
  CHECK(s.sampled_live == 1);

  CHECK(agg.lifetimes(2)->buckets[kEndUnseen].sampled == 1);
  CHECK(agg.lifetimes(2)->buckets[kEndUnseen].bytes == 128);
  CHECK(agg.lifetimes(3) == nullptr);  // its block is live
  CHECK(agg.counters().unmatched_frees == 1);
}

TEST_CASE("aggregator: a block past --max-live is counted with its end unseen") {
  const ConfigHistory h = quarter_half_one();
  Aggregator agg(h);
  agg.limit_live(1);
  apply(agg, {alloc(0x10, 100, 1, MS_TIER_LARGE, 10), alloc(0x20, 200, 1, MS_TIER_LARGE, 10), release(0x20, 20)}, 100);
  CHECK(agg.counters().live_untracked == 1);
  CHECK(agg.counters().unmatched_frees == 1);
  CHECK(agg.lifetimes(1)->buckets[kEndUnseen].bytes == 200);
  CHECK(agg.sites().at(1).live_bytes == 100);
}

TEST_CASE("lifetime estimates: unbiased, with 95% intervals that cover the truth") {
  // A site whose calls live 0.2 ms, 30 ms or 3 s (40/40/20%), sampled at
  // 1/8 with the report's interval, est +- 1.96 sqrt(var), over 300 runs.
  TierConfig c;
  c.rate = {1.0 / 8, 1, 1};
  ConfigHistory h;
  h.next(c, 0, "initial");
  const uint64_t lifetimes_ns[3] = {200'000, 30'000'000, 3'000'000'000};
  const LifetimeBucket buckets[3] = {kUnder1ms, kUnder100ms, kUnder10s};
  constexpr int kRuns = 300, kCalls = 4000;
  int covered_count[3] = {}, covered_bytes[3] = {};
  double sum_err[3] = {};
  std::mt19937_64 rng(7);
  for (int run = 0; run < kRuns; ++run) {
    Aggregator agg(h);
    std::vector<ms_record> allocs, frees;
    double truth_count[3] = {}, truth_bytes[3] = {};
    for (int i = 0; i < kCalls; ++i) {
      const unsigned k = rng() % 10 < 4 ? 0 : rng() % 6 < 4 ? 1 : 2;
      const uint64_t size = 16 + rng() % 1000, ptr = 0x1000 + 16ull * i, born = 100 + i;
      truth_count[k] += 1;
      truth_bytes[k] += static_cast<double>(size);
      if (rng() % 8) continue;  // not sampled
      allocs.push_back(alloc(ptr, size, 1, MS_TIER_SMALL, born));
      frees.push_back(release(ptr, born + units(lifetimes_ns[k])));
    }
    allocs.insert(allocs.end(), frees.begin(), frees.end());  // the allocations first
    apply(agg, allocs, 100 + kCalls + units(4'000'000'000));
    const auto& l = agg.lifetimes(1)->buckets;
    for (int k = 0; k < 3; ++k) {
      const LifetimeSums& s = l[buckets[k]];
      const double hc = 1.96 * std::sqrt(s.var_count), hb = 1.96 * std::sqrt(s.var_bytes);
      covered_count[k] += std::abs(s.count - truth_count[k]) <= hc;
      covered_bytes[k] += std::abs(s.bytes - truth_bytes[k]) <= hb;
      sum_err[k] += (s.count - truth_count[k]) / std::max(1.0, hc / 1.96);  // in standard errors
    }
  }
  for (int k = 0; k < 3; ++k) {
    INFO("bucket " << kLifetimeBucketNames[buckets[k]]);
    CHECK(covered_count[k] >= 0.9 * kRuns);
    CHECK(covered_count[k] <= 0.99 * kRuns);
    CHECK(covered_bytes[k] >= 0.9 * kRuns);
    CHECK(covered_bytes[k] <= 0.99 * kRuns);
    CHECK(std::abs(sum_err[k] / kRuns) < 4 / std::sqrt(kRuns));  // the mean error is ~0
  }
}
