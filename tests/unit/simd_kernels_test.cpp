// The SIMD kernels (decode, batch statistics) must give exactly what the
// scalar references give, on every instruction set Highway dispatches to
// on this CPU, and so must the aggregator built on them.
#include <catch2/catch.hpp>
#include <hwy/targets.h>

#include <cstring>
#include <map>
#include <random>

#include "aggregate/aggregator.h"
#include "aggregate/batch_sums.h"
#include "aggregate/record_batch.h"

using namespace memscope;

namespace {

// Runs `f` once per instruction set compiled in and supported here.
template <class F>
void for_each_target(F f) {
  for (int64_t t : hwy::SupportedAndGeneratedTargets()) {
    hwy::SetSupportedTargetsForTest(t);
    hwy::SupportedTargets();
    INFO("target " << hwy::TargetName(t));
    f();
  }
  hwy::SetSupportedTargetsForTest(0);
  hwy::SupportedTargets();
}

enum class Shape {
  realistic,    // few groups, the entry points in use, sizes of a heap
  adversarial,  // every field random: hundreds of groups, all 64 classes
};

std::vector<ms_record> random_records(size_t n, Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<ms_record> out(n);
  for (auto& r : out) {
    const uint64_t bits = rng();
    std::memcpy(&r, &bits, sizeof bits);  // garbage in every field first
    r.tgid = static_cast<uint32_t>(rng());
    r.tid = static_cast<uint32_t>(rng());
    r.site_id = static_cast<uint32_t>(rng());
    r.time = static_cast<uint32_t>(rng());
    r.ptr = rng();
    if (shape == Shape::adversarial) {
      const uint64_t size = rng() >> (16 + rng() % 48);  // every class up to 2^48
      r.size_lo = static_cast<uint32_t>(size);
      r.size_hi = static_cast<uint16_t>(size >> 32);
      r.kind_api = static_cast<uint8_t>(rng());
      r.tier_epoch = static_cast<uint8_t>(rng());
      continue;
    }
    const bool is_free = rng() % 2;
    const uint64_t size = is_free ? 0 : (rng() % 10 ? 16 + rng() % 64 : 1024 + rng() % 100000);
    r.size_lo = static_cast<uint32_t>(size);
    r.size_hi = 0;
    r.kind_api = ms_pack_kind_api(is_free ? MS_KIND_FREE : MS_KIND_ALLOC, is_free ? MS_API_FREE : rng() % 3);
    r.tier_epoch = ms_pack_tier_epoch(is_free ? 0 : rng() % 4, rng() % 50 ? 5 : 6);
    r.tgid = 100 + rng() % 2;
    r.ptr = 0x1000 + 16 * (rng() % 4096);
  }
  return out;
}

void require_same(const RecordBatch& a, const RecordBatch& b) {
  REQUIRE(a.count() == b.count());
  CHECK(a.ptr == b.ptr);
  CHECK(a.size == b.size);
  CHECK(a.time_ns == b.time_ns);
  CHECK(a.tgid == b.tgid);
  CHECK(a.tid == b.tid);
  CHECK(a.site == b.site);
  CHECK(a.kind == b.kind);
  CHECK(a.api == b.api);
  CHECK(a.tier == b.tier);
  CHECK(a.epoch == b.epoch);
  CHECK(a.size_class == b.size_class);
  CHECK(a.live_hash == b.live_hash);
}

}  // namespace

TEST_CASE("SIMD decode equals the scalar decode on every instruction set") {
  for (size_t n : {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 1000, 4099}) {
    for (Shape shape : {Shape::realistic, Shape::adversarial}) {
      const auto records = random_records(n, shape, n * 31 + 1);
      // Anchors near a 32-bit wrap of the record clock and far from it.
      for (uint64_t now : {(1ull << 42) + 12345, ((1ull << 32) + 10) << MS_TIME_SHIFT, 5000ull}) {
        RecordBatch expect;
        decode_scalar(records, now, expect);
        for_each_target([&] {
          RecordBatch got;
          decode(records, now, got);
          require_same(got, expect);
        });
      }
    }
  }
}

TEST_CASE("the scalar decode keeps every field, the size class and the live table's hash") {
  ms_record r{};
  r.ptr = 0x7f00'1234'5670ull;
  r.size_lo = 0;
  r.size_hi = 0x8000;  // 2^47
  r.kind_api = ms_pack_kind_api(MS_KIND_FREE, MS_API_REALLOC);
  r.tier_epoch = ms_pack_tier_epoch(MS_TIER_FORCED, 63);
  r.tgid = 7;
  r.tid = 0xfffffffe;
  r.site_id = MS_NO_SITE;
  r.time = 99;
  std::vector<ms_record> in{r, r, r};
  in[1].size_hi = 0;
  in[1].size_lo = 1;
  in[2].size_hi = 0;
  in[2].size_lo = 0;
  RecordBatch b;
  decode_scalar(in, 1000ull << MS_TIME_SHIFT, b);
  CHECK(b.size[0] == (1ull << 47));
  CHECK(b.size_class[0] == 47);
  CHECK(b.size_class[1] == 0);
  CHECK(b.size_class[2] == 0);
  CHECK(b.kind[0] == MS_KIND_FREE);
  CHECK(b.api[0] == MS_API_REALLOC);
  CHECK(b.tier[0] == MS_TIER_FORCED);
  CHECK(b.epoch[0] == 63);
  CHECK(b.tid[0] == 0xfffffffe);
  CHECK(b.time_ns[0] == (99ull << MS_TIME_SHIFT));
  CHECK(b.live_hash[0] == live_key_hash(7, r.ptr));
}

TEST_CASE("SIMD batch sums equal the scalar sums on every instruction set, key lists overflowing or not") {
  for (size_t n : {0, 1, 5, 63, 64, 65, 127, 129, 1000, 65536}) {
    for (Shape shape : {Shape::realistic, Shape::adversarial}) {
      RecordBatch b;
      decode_scalar(random_records(n, shape, n + 7), 1ull << 40, b);
      BatchSums expect;
      sum_batch_scalar(b, expect);
      CHECK(expect.records == n);
      CHECK(expect.allocations + expect.frees == n);
      for_each_target([&] {
        BatchSums got;
        sum_batch(b, got);
        CHECK(got == expect);
      });
    }
  }
}

TEST_CASE("batch sums count what the records say") {
  std::vector<ms_record> in(3);
  in[0].kind_api = ms_pack_kind_api(MS_KIND_ALLOC, MS_API_CALLOC);
  in[0].tier_epoch = ms_pack_tier_epoch(MS_TIER_MEDIUM, 2);
  in[0].size_lo = 4000;
  in[1] = in[0];
  in[1].size_lo = 3000;
  in[2].kind_api = ms_pack_kind_api(MS_KIND_FREE, MS_API_FREE);
  in[2].size_lo = 999;  // a free's size is not an allocation's bytes
  RecordBatch b;
  decode(in, 1ull << 40, b);
  BatchSums s;
  sum_batch(b, s);
  CHECK(s.allocations == 2);
  CHECK(s.frees == 1);
  CHECK(s.group_count[group_of(MS_TIER_MEDIUM, 2)] == 2);
  CHECK(s.group_bytes[group_of(MS_TIER_MEDIUM, 2)] == 7000);
  CHECK(s.api_allocs[MS_API_CALLOC] == 2);
  CHECK(s.api_frees[MS_API_FREE] == 1);
  CHECK(s.class_count[11] == 2);  // 3000 and 4000 are in [2048, 4096)
}

namespace {
// A stream whose frees find their allocations, across batches, under
// several config slots.
std::vector<std::vector<ms_record>> stream(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::vector<ms_record>> batches;
  std::vector<std::pair<uint32_t, uint64_t>> live;
  uint64_t next = 0x10000;
  for (int k = 0; k < 12; ++k) {
    std::vector<ms_record> b;
    const size_t n = 1 + rng() % 3000;
    for (size_t i = 0; i < n; ++i) {
      ms_record r{};
      r.time = static_cast<uint32_t>(k * 1000 + i);
      if (!live.empty() && rng() % 5 < 2) {
        const size_t j = rng() % live.size();
        r.tgid = live[j].first;
        r.ptr = live[j].second;
        r.kind_api = ms_pack_kind_api(MS_KIND_FREE, MS_API_FREE);
        r.site_id = MS_NO_SITE;
        live[j] = live.back();
        live.pop_back();
      } else {
        const uint64_t size = rng() % 4 ? 8 + rng() % 1000 : rng() % 50000;
        r.tgid = 10 + rng() % 3;
        r.tid = r.tgid + rng() % 2;
        r.ptr = rng() % 50 ? (next += 16 * (1 + rng() % 4)) : 0x10000 + 16 * (rng() % 64);  // some reuse
        r.size_lo = static_cast<uint32_t>(size);
        r.kind_api = ms_pack_kind_api(MS_KIND_ALLOC, rng() % 3);
        const uint32_t tier = size < 1024 ? 0 : size <= 8192 ? 1 : 2;
        r.tier_epoch = ms_pack_tier_epoch(rng() % 7 ? tier : MS_TIER_FORCED, k / 3);
        r.site_id = static_cast<uint32_t>(rng() % 40);
        live.push_back({r.tgid, r.ptr});
      }
      b.push_back(r);
    }
    batches.push_back(std::move(b));
  }
  return batches;
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
}  // namespace

TEST_CASE("the aggregator gives bit-identical results with the SIMD and the scalar kernels") {
  ConfigHistory h;
  TierConfig c;
  c.rate = {0.01, 0.3, 1.0};
  h.next(c, 0, "initial");
  c.rate = {1.0 / 3, 0.07, 0.9};
  h.next(c, 1, "second");
  c.rate = {0.125, 0.5, 1.0};
  h.next(c, 2, "third");
  c.rate = {1, 1, 1};
  h.next(c, 3, "fourth");
  Aggregator simd(h, Kernels::simd), scalar(h, Kernels::scalar);
  for (const auto& records : stream(17)) {
    RecordBatch b;
    decode(records, 1ull << 40, b);
    simd.apply(b);
    scalar.apply(b);
  }
  CHECK(simd.totals() == scalar.totals());
  CHECK(same_bits(simd.weighted().count, scalar.weighted().count));
  CHECK(same_bits(simd.weighted().bytes, scalar.weighted().bytes));
  CHECK(simd.counters().records == scalar.counters().records);
  CHECK(simd.counters().frees == scalar.counters().frees);
  CHECK(simd.counters().unmatched_frees == scalar.counters().unmatched_frees);
  CHECK(simd.counters().by_tier == scalar.counters().by_tier);
  REQUIRE(simd.sites().size() == scalar.sites().size());
  for (const auto& [id, s] : simd.sites()) {
    const SiteStats& o = scalar.sites().at(id);
    CHECK(std::memcmp(&s, &o, sizeof s) == 0);
  }
  REQUIRE(simd.threads().size() == scalar.threads().size());
  for (const auto& [id, t] : simd.threads()) CHECK(std::memcmp(&t, &scalar.threads().at(id), sizeof t) == 0);
  std::map<std::pair<uint32_t, uint64_t>, LiveBlock> a, b;
  for (const auto& [k, v] : simd.live()) a[{k.tgid, k.ptr}] = v;
  for (const auto& [k, v] : scalar.live()) b[{k.tgid, k.ptr}] = v;
  REQUIRE(a.size() == b.size());
  for (const auto& [k, v] : a) {
    const LiveBlock& o = b.at(k);
    CHECK(v.site == o.site);
    CHECK(v.size == o.size);
    CHECK(same_bits(v.weight, o.weight));
    CHECK(v.time_ns == o.time_ns);
  }
}

TEST_CASE("weighted totals are the weighted sums of the allocation records, and match the sites") {
  ConfigHistory h;
  TierConfig c;
  c.rate = {0.25, 0.5, 1.0};
  h.next(c, 0, "initial");
  Aggregator agg(h);
  double count = 0, bytes = 0, site_count = 0, site_bytes = 0;
  for (const auto& records : stream(3)) {
    std::vector<ms_record> in;
    for (auto r : records) {
      r.tier_epoch = ms_pack_tier_epoch(ms_record_tier(&r), 0);
      in.push_back(r);
      if (ms_record_kind(&r) == MS_KIND_FREE) continue;
      const double w = h.weight(ms_record_tier(&r), 0);
      count += w;
      bytes += w * static_cast<double>(ms_record_size(&r));
    }
    RecordBatch b;
    decode(in, 1ull << 40, b);
    agg.apply(b);
  }
  for (const auto& [id, s] : agg.sites()) {
    site_count += s.count;
    site_bytes += s.bytes;
  }
  CHECK(agg.weighted().count == Approx(count));
  CHECK(agg.weighted().bytes == Approx(bytes));
  CHECK(site_count == Approx(count));
  CHECK(site_bytes == Approx(bytes));
  uint64_t by_tier = 0;
  for (uint64_t n : agg.counters().by_tier) by_tier += n;
  CHECK(by_tier == agg.counters().allocations);
}

TEST_CASE("the aggregator follows at most its limit of live blocks, and the rest are not counted live") {
  ConfigHistory h;
  h.next(TierConfig::sample_all(), 0, "initial");
  Aggregator agg(h);
  agg.limit_live(3);
  std::vector<ms_record> in;
  for (uint64_t p = 1; p <= 5; ++p) {
    ms_record r{};
    r.ptr = 16 * p;
    r.size_lo = 100;
    r.kind_api = ms_pack_kind_api(MS_KIND_ALLOC, MS_API_MALLOC);
    r.site_id = 9;
    r.tgid = 1;
    in.push_back(r);
  }
  in.push_back(in[0]);  // the same block again: replaces, needs no room
  RecordBatch b;
  decode(in, 1ull << 40, b);
  agg.apply(b);
  CHECK(agg.live().size() == 3);
  CHECK(agg.counters().live_untracked == 2);
  const SiteStats& s = agg.sites().at(9);
  CHECK(s.sampled == 6);
  CHECK(s.sampled_live == 3);
  CHECK(s.live_bytes == 300);
  CHECK(s.bytes == 600);
}
