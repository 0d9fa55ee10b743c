// Each site's figures folded window by window: a window is folded once a
// record taken after its close arrives, or at the end, so that records of
// the window drained late still count in it.
#include "aggregate/window_folds.h"

#include <catch2/catch.hpp>

#include "aggregate/aggregator.h"
#include "aggregate/record_batch.h"

using namespace memscope;

namespace {

ms_record alloc_at(uint32_t time_units, uint32_t site, uint64_t ptr) {
  ms_record r{};
  r.ptr = ptr;
  r.size_lo = 10;
  r.kind_api = ms_pack_kind_api(MS_KIND_ALLOC, MS_API_MALLOC);
  r.tier_epoch = ms_pack_tier_epoch(MS_TIER_SMALL, 0);
  r.tgid = 100;
  r.tid = 101;
  r.site_id = site;
  r.time = time_units;
  return r;
}

void apply(Aggregator& agg, const std::vector<ms_record>& records) {
  RecordBatch b;
  decode(records, 10'000ull << MS_TIME_SHIFT, b);
  agg.apply(b);
}

uint64_t ns(uint32_t units) { return static_cast<uint64_t>(units) << MS_TIME_SHIFT; }

}  // namespace

TEST_CASE("window folds: each window's figures per site, with the clocks' advances", "[window_variance]") {
  ConfigHistory h;
  TierConfig every;
  every.rate = {1, 1, 1};  // weight 1: the figures are the records
  h.next(every, 0, "initial");
  Aggregator agg(h);

  // Window 1: three blocks at site 1; closed at 1500.
  apply(agg, {alloc_at(1000, 1, 0x10), alloc_at(1100, 1, 0x20), alloc_at(1200, 1, 0x30)});
  agg.window_closed(ns(1500), {{100, {10, 1.0, 100}}});
  // One of its records drained late: still window 1's.
  apply(agg, {alloc_at(1400, 1, 0x40)});
  REQUIRE(agg.windows().clocks().empty());  // not folded yet
  // Window 2's first record folds window 1; site 2 is new in window 2.
  apply(agg, {alloc_at(3000, 1, 0x50), alloc_at(3100, 2, 0x60)});
  REQUIRE(agg.windows().clocks().size() == 1);
  agg.window_closed(ns(3500), {{100, {20, 2.0, 300}}});
  agg.fold_windows();  // the end

  const WindowClock& c = agg.windows().clocks().at(100);
  CHECK(c.windows == 2);
  CHECK(c.f == 30);
  CHECK(c.ff == 10 * 10 + 20 * 20);
  CHECK(c.uh == Approx(1.0 * 100 + 2.0 * 300));
  const SiteWindows* one = agg.windows().site(1);
  const SiteWindows* two = agg.windows().site(2);
  REQUIRE(one);
  REQUIRE(two);
  // Site 1: 4 blocks in window 1, 1 in window 2; site 2: 0, then 1.
  CHECK(one->count.yy == 4 * 4 + 1 * 1);
  CHECK(one->count.yf == 4 * 10 + 1 * 20);
  CHECK(one->bytes.yy == 40 * 40 + 10 * 10);
  CHECK(two->count.yy == 1);
  CHECK(two->count.yf == 20);
  // Folding again with nothing pending changes nothing.
  agg.fold_windows();
  CHECK(agg.windows().clocks().at(100).windows == 2);
}
