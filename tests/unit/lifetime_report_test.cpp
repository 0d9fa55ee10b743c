#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <random>

#include "aggregate/record_batch.h"
#include "report/json_report.h"
#include "report/lifetime_report.h"
#include "report/report_builder.h"
#include "report/text_summary.h"
#include "support/schema_check.h"

using namespace memscope;
using memscope::test::schema_errors;

namespace {
constexpr uint32_t kPid = 4321;

ms_record rec(uint32_t kind, uint64_t ptr, uint64_t size, uint32_t site, uint32_t tier, uint64_t units) {
  ms_record r{};
  r.ptr = ptr;
  r.size_lo = static_cast<uint32_t>(size);
  r.kind_api = ms_pack_kind_api(kind, kind == MS_KIND_FREE ? MS_API_FREE : MS_API_MALLOC);
  r.tier_epoch = ms_pack_tier_epoch(tier, 0);
  r.tgid = r.tid = kPid;
  r.site_id = kind == MS_KIND_FREE ? MS_NO_SITE : site;
  r.time = static_cast<uint32_t>(units);
  return r;
}

ConfigHistory small_rate(double rate) {
  ConfigHistory h;
  TierConfig c;
  c.rate = {rate, 1, 1};
  h.next(c, 0, "initial");
  return h;
}

// Site 1: 3 blocks freed after 0.5 ms, 1 after 20 ms, 1 still live; site
// 2: 1 block freed after 2 s. All small (weight 4), 100 bytes.
void feed(Aggregator& agg) {
  std::vector<ms_record> in;
  for (uint64_t i = 0; i < 5; ++i) in.push_back(rec(MS_KIND_ALLOC, 0x100 + 16 * i, 100, 1, MS_TIER_SMALL, 1000));
  in.push_back(rec(MS_KIND_ALLOC, 0x900, 100, 2, MS_TIER_SMALL, 1000));
  for (uint64_t i = 0; i < 3; ++i) in.push_back(rec(MS_KIND_FREE, 0x100 + 16 * i, 0, 0, 0, 1000 + 489));
  in.push_back(rec(MS_KIND_FREE, 0x130, 0, 0, 0, 1000 + 19532));
  in.push_back(rec(MS_KIND_FREE, 0x900, 0, 0, 0, 1000 + 1953125));
  RecordBatch b;
  decode(in, 3'000'000ull << MS_TIME_SHIFT, b);
  agg.apply(b);
}

Report report_with_targets() {
  Report r;
  TargetReport t;
  t.process = {static_cast<pid_t>(kPid), kPid, "server", "/usr/bin/server"};
  t.allocator.path = "/lib/x86_64-linux-gnu/libc.so.6";
  for (unsigned a = 0; a < MS_API_COUNT; ++a) t.allocator.counted_as[a] = a;
  r.targets.push_back(t);
  return r;
}
}  // namespace

TEST_CASE("report lifetimes: buckets in order, scaled by the duty cycle, in the JSON within the schema") {
  const ConfigHistory h = small_rate(0.25);
  Aggregator agg(h);
  feed(agg);
  Report r = report_with_targets();
  r.sampling = &h;
  SiteStacks no_stacks;  // both sites have no frames: one site to the reader
  Symbolizer symbolizer;
  RankOptions rank{0, 0, {{kPid, 2.0}}};  // windows covered half the work
  add_sites(r, agg, no_stacks, symbolizer, rank);
  REQUIRE(r.sites.size() == 1);
  const SiteReport& s = r.sites[0];
  CHECK(s.lifetimes.buckets[kUnder1ms].count == 3 * 4 * 2);
  CHECK(s.lifetimes.buckets[kUnder1ms].var_count == 3 * 12 * 4);
  CHECK(s.lifetimes.buckets[kUnder100ms].bytes == 4 * 100 * 2);
  CHECK(s.lifetimes.buckets[kUnder10s].sampled == 1);
  REQUIRE(r.temporaries.size() == 1);
  CHECK(r.total_temporary_sites == 1);
  CHECK(r.targets[0].temporaries.size() == 1);

  nlohmann::json j = to_json(r);
  const auto& l = j["sites"][0]["lifetimes"];
  REQUIRE(l.size() == 8);
  const char* names[] = {"lt_1ms", "1ms_10ms", "10ms_100ms", "100ms_1s",
                         "1s_10s", "ge_10s",   "still_live", "end_unseen"};
  double count = 0, bytes = 0;
  for (size_t i = 0; i < 8; ++i) {
    CHECK(l[i]["bucket"] == names[i]);
    CHECK(j["lifetimes"]["buckets"][i]["bucket"] == names[i]);
    count += l[i]["count"].get<double>();
    bytes += l[i]["bytes"].get<double>();
  }
  CHECK(count == j["sites"][0]["estimated"]["count"].get<double>());  // 6 blocks of weight 4, x2
  CHECK(bytes == j["sites"][0]["estimated"]["bytes"].get<double>());
  CHECK(l[0]["sampled"] == 3);
  CHECK(l[0]["count"] == 24.0);
  // The report's interval: est +- 1.96 sqrt(var), the low end no less than the sampled blocks.
  CHECK(l[0]["ci95"]["count"][1].get<double>() == Approx(24 + 1.96 * std::sqrt(144.0)));
  CHECK(l[0]["ci95"]["count"][0].get<double>() == 3.0);  // 24 - 1.96 * 12 is below its 3 sampled blocks
  CHECK(l[6]["bucket"] == "still_live");
  CHECK(l[6]["count"] == 8.0);
  CHECK(l[6]["ci95"]["count"][0].get<double>() == 1.0);  // floored at its one sampled block
  CHECK(j["sites"][0]["temporary"]["share_count"]["value"].get<double>() == Approx(0.5));
  CHECK(j["lifetimes"]["buckets"][0]["max_s"] == 0.001);
  CHECK(j["lifetimes"]["buckets"][5]["max_s"].is_null());
  CHECK(j["lifetimes"]["complete"] == true);
  CHECK(j["totals"]["temporary_sites"] == 1);
  CHECK(j["processes"][0]["temporaries"].size() == 1);
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) == "");

  j["sites"][0]["lifetimes"].erase(7);
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) != "");
}

TEST_CASE("report: with release windows live figures come from the frees seen, and a leak is one beyond chance") {
  const ConfigHistory h = small_rate(0.25);
  SiteStacks no_stacks;
  Symbolizer symbolizer;
  RankOptions windowed{0, 0, {}, {}, {{kPid, 0.5}}};  // release windows covered half the work
  {
    // 5 of 6 blocks seen freed, 1 still in the live table: at c_r = 0.5 the
    // seen frees stand for 10, more than were sampled: nothing is live, and
    // the block left is not a leak.
    Aggregator agg(h);
    feed(agg);
    Report r = report_with_targets();
    add_sites(r, agg, no_stacks, symbolizer, windowed);
    REQUIRE(r.sites.size() == 1);
    CHECK(r.sites[0].estimated.live_count == 0);
    CHECK(r.sites[0].estimated.sampled_live == 0);
    CHECK(r.leaks.empty());
    CHECK(r.sites[0].lifetimes.buckets[kUnder1ms].count == 3 * 4 * 2);  // seen frees weighted by 1 / c_r
    Report plain = report_with_targets();
    add_sites(plain, agg, no_stacks, symbolizer, RankOptions{});
    CHECK(plain.leaks.size() == 1);  // with every free seen, the block left is one
  }
  {
    // 10 blocks, no free seen: at most 4 dead blocks explain that at 95%
    // (0.5^4 >= 0.05 > 0.5^5): a leak of at least 6, live estimated 40.
    Aggregator agg(h);
    std::vector<ms_record> in;
    for (uint64_t i = 0; i < 10; ++i) in.push_back(rec(MS_KIND_ALLOC, 0x100 + 16 * i, 100, 1, MS_TIER_SMALL, 1000));
    RecordBatch b;
    decode(in, 3'000'000ull << MS_TIME_SHIFT, b);
    agg.apply(b);
    Report r = report_with_targets();
    r.sampling = &h;
    add_sites(r, agg, no_stacks, symbolizer, windowed);
    REQUIRE(r.leaks.size() == 1);
    CHECK(r.leaks[0].estimated.sampled_live == 6);
    CHECK(r.leaks[0].estimated.live_count == Approx(40));
    CHECK(r.leaks[0].estimated.var_live_count == Approx(10 * 12));
    CHECK(schema_errors(to_json(r), MEMSCOPE_SCHEMA) == "");
  }
}

TEST_CASE("report lifetimes: lost records and unfollowed blocks make them incomplete, and the summary says so") {
  const ConfigHistory h = small_rate(0.25);
  Aggregator agg(h);
  feed(agg);
  Report r = report_with_targets();
  r.sampling = &h;
  SiteStacks no_stacks;
  Symbolizer symbolizer;
  add_sites(r, agg, no_stacks, symbolizer, RankOptions{});
  CHECK(lifetime_caveats(r).empty());
  r.exact.stats[MS_STAT_DROPPED] = 3;
  r.exact.stats[MS_STAT_LIVE_FULL] = 1;
  const auto why = lifetime_caveats(r);
  REQUIRE(why.size() == 2);
  CHECK(why[0].rfind("dropped_events:", 0) == 0);
  CHECK(why[1].rfind("live_table_full:", 0) == 0);
  nlohmann::json j = to_json(r);
  CHECK(j["lifetimes"]["complete"] == false);
  CHECK(schema_errors(j, MEMSCOPE_SCHEMA) == "");

  char* text = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&text, &size);
  print_final(out, r, 10);
  fclose(out);
  const std::string summary(text, size);
  free(text);
  CHECK(summary.find("temporary, freed within 1 ms (1 sites):") != std::string::npos);
  CHECK(summary.find("12 of       24 allocs ( 50%)") != std::string::npos);
  CHECK(summary.find("lifetimes incomplete: dropped_events") != std::string::npos);
}

TEST_CASE("temporary share: exact without sampling, and its 95% interval covers the truth when sampled") {
  SiteStats s;
  s.count = 10;
  s.bytes = 1000;
  SiteLifetimes l;
  l.buckets[kUnder1ms].count = 4;
  l.buckets[kUnder1ms].bytes = 100;
  auto exact = temporary_share(s, l);
  REQUIRE(exact);
  CHECK(exact->count.value == 0.4);
  CHECK(exact->count.low == 0.4);
  CHECK(exact->count.high == 0.4);
  CHECK(exact->bytes.value == 0.1);
  CHECK(!temporary_share(SiteStats{}, l));
  // Sampled, and none of 10 blocks temporary: up to 1 - 0.025^(1/10) is
  // still likely; every call recorded, and none: none.
  s.sampled = 10;
  s.var_count = 10 * 10 * 9;
  auto none = temporary_share(s, SiteLifetimes{});
  REQUIRE(none);
  CHECK(none->count.value == 0);
  CHECK(none->count.low == 0);
  CHECK(none->count.high == Approx(1 - std::pow(0.025, 0.1)));
  s.var_count = 0;
  CHECK(temporary_share(s, SiteLifetimes{})->count.high == 0);

  // Half of a site's calls (and their bytes, sizes alike) are temporary
  // sampled at 1/10, 1000 runs (coverage within 4 standard errors of 95%).
  const ConfigHistory h = small_rate(0.1);
  std::mt19937_64 rng(11);
  int covered = 0;
  constexpr int kRuns = 1000;
  for (int run = 0; run < kRuns; ++run) {
    Aggregator agg(h);
    std::vector<ms_record> in;
    double temporary = 0, all = 0;
    for (uint64_t i = 0; i < 3000; ++i) {
      const bool temp = rng() % 2 == 0;
      temporary += temp;
      all += 1;
      if (rng() % 10) continue;
      in.push_back(rec(MS_KIND_ALLOC, 0x1000 + 16 * i, 64, 1, MS_TIER_SMALL, 100 + i));
      in.push_back(rec(MS_KIND_FREE, 0x1000 + 16 * i, 0, 0, 0, 100 + i + (temp ? 100 : 5000)));
    }
    RecordBatch b;
    decode(in, 100'000ull << MS_TIME_SHIFT, b);
    agg.apply(b);
    const auto share = temporary_share(agg.sites().at(1), *agg.lifetimes(1));
    REQUIRE(share);
    covered += share->count.low <= temporary / all && temporary / all <= share->count.high;
  }
  CHECK(covered >= 0.92 * kRuns);
  CHECK(covered <= 0.98 * kRuns);
}
