#include <catch2/catch.hpp>

#include <random>

#include "aggregate/aggregator.h"
#include "aggregate/record_batch.h"

using namespace memscope;

namespace {
ms_record rec(uint32_t kind, uint32_t api, uint64_t ptr, uint64_t size, uint32_t site, uint32_t tier, uint32_t slot,
              uint32_t tgid = 100) {
  ms_record r{};
  r.ptr = ptr;
  r.size_lo = static_cast<uint32_t>(size);
  r.size_hi = static_cast<uint16_t>(size >> 32);
  r.kind_api = ms_pack_kind_api(kind, api);
  r.tier_epoch = ms_pack_tier_epoch(tier, slot);
  r.tgid = tgid;
  r.tid = tgid + 1;
  r.site_id = site;
  r.time = 1000;
  return r;
}

// One config slot with these tier rates (small, medium, large).
ConfigHistory history_of(double small, double medium, double large) {
  ConfigHistory h;
  TierConfig c;
  c.rate = {small, medium, large};
  h.next(c, 0, "initial");
  return h;
}
}  // namespace

TEST_CASE("decode splits records into columns and unwraps time") {
  std::vector<ms_record> in{rec(MS_KIND_ALLOC, MS_API_CALLOC, 0x1000, 5ull << 32, 7, MS_TIER_LARGE, 2)};
  RecordBatch b;
  const uint64_t now = (2000ull << MS_TIME_SHIFT);
  decode(in, now, b);
  REQUIRE(b.count() == 1);
  CHECK(b.size[0] == (5ull << 32));
  CHECK(b.api[0] == MS_API_CALLOC);
  CHECK(b.site[0] == 7);
  CHECK(b.epoch[0] == 2);
  CHECK(b.time_ns[0] == (1000ull << MS_TIME_SHIFT));
}

TEST_CASE("record times survive the 32-bit wrap") {
  const uint64_t now_units = (1ull << 32) + 50;  // just past a wrap
  const uint32_t rec_time = 0xFFFFFFF0u;         // taken just before it
  CHECK(unwrap_time(rec_time, now_units << MS_TIME_SHIFT) == (0xFFFFFFF0ull << MS_TIME_SHIFT));
}

TEST_CASE("aggregator weights allocations and matches frees by process and pointer") {
  const ConfigHistory h = history_of(0.25, 0.5, 1.0);
  Aggregator agg(h);
  std::vector<ms_record> in{
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x10, 100, 1, MS_TIER_SMALL, 0),       // weight 4
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x20, 2000, 1, MS_TIER_MEDIUM, 0),     // weight 2
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x30, 100000, 2, MS_TIER_LARGE, 0),    // weight 1
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x10, 50, 3, MS_TIER_FORCED, 0, 200),  // other process, same pointer
      rec(MS_KIND_FREE, MS_API_FREE, 0x10, 0, MS_NO_SITE, 0, 0),               // frees process 100's block
      rec(MS_KIND_FREE, MS_API_FREE, 0x99, 0, MS_NO_SITE, 0, 0),               // never seen
  };
  RecordBatch b;
  decode(in, 1ull << 40, b);
  agg.apply(b);
  const auto& s = agg.sites();
  CHECK(s.at(1).count == Approx(6));
  CHECK(s.at(1).bytes == Approx(4 * 100 + 2 * 2000));
  CHECK(s.at(1).live_count == Approx(2));
  CHECK(s.at(1).live_bytes == Approx(4000));
  CHECK(s.at(1).sampled_live == 1);
  CHECK(s.at(2).bytes == Approx(100000));
  CHECK(s.at(3).live_bytes == Approx(50));  // the forced sample weighs 1, and process 200's block stays
  CHECK(agg.counters().unmatched_frees == 1);
  CHECK(agg.counters().by_tier[MS_TIER_FORCED] == 1);
  CHECK(agg.live().size() == 3);
}

TEST_CASE("aggregator keeps each site's seen frees, not a block ended by its address coming back, and the unfollowed") {
  const ConfigHistory h = history_of(0.25, 0.5, 1.0);
  Aggregator agg(h);
  agg.limit_live(2);
  std::vector<ms_record> in{
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x10, 100, 1, MS_TIER_SMALL, 0),    // weight 4
      rec(MS_KIND_FREE, MS_API_FREE, 0x10, 0, MS_NO_SITE, 0, 0),            // seen
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x20, 2000, 1, MS_TIER_MEDIUM, 0),  // weight 2, its free unseen
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x20, 2000, 1, MS_TIER_MEDIUM, 0),  // its address back: ended unseen
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x30, 100, 1, MS_TIER_SMALL, 0),    // live
      rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x40, 100, 1, MS_TIER_SMALL, 0),    // the table is full: not followed
  };
  RecordBatch b;
  decode(in, 1ull << 40, b);
  agg.apply(b);
  const SiteStats& s = agg.sites().at(1);
  CHECK(s.sampled == 5);
  CHECK(s.seen_frees.sampled == 1);
  CHECK(s.seen_frees.count == Approx(4));
  CHECK(s.seen_frees.bytes == Approx(400));
  CHECK(s.seen_frees.sq_count == Approx(16));
  CHECK(s.seen_frees.var_count == Approx(12));
  CHECK(s.sampled_unfollowed == 1);
}

TEST_CASE("weighted sums are unbiased over a synthetic stream with known truth") {
  // Simulate the kernel's draw for 200k small calls at rate 1/16 and check
  // that the estimate lands within 4 standard errors of the truth.
  ConfigHistory h;
  TierConfig c;
  c.rate = {1.0 / 16, 1, 1};
  h.next(c, 0, "initial");
  Aggregator agg(h);
  std::mt19937_64 rng(42);
  std::vector<ms_record> in;
  double truth = 0;
  for (int i = 0; i < 200000; ++i) {
    uint64_t size = 16 + rng() % 512;
    truth += size;
    if (rng() % 16 == 0) in.push_back(rec(MS_KIND_ALLOC, MS_API_MALLOC, 0x1000 + 16 * i, size, 1, MS_TIER_SMALL, 0));
  }
  RecordBatch b;
  decode(in, 1ull << 40, b);
  agg.apply(b);
  const double est = agg.sites().at(1).bytes;
  // Var of a Bernoulli(1/16) HT estimate: sum(x^2) * (1-p)/p ~ n * E[x^2] * 15.
  const double se = std::sqrt(200000 * (272.0 * 272 + 512.0 * 512 / 12) * 15);
  CHECK(std::abs(est - truth) < 4 * se);
}
