#include <catch2/catch.hpp>

#include <cstddef>

#include "memscope/record.h"

TEST_CASE("record is 32 bytes with fields where the BPF side writes them") {
  STATIC_REQUIRE(sizeof(ms_record) == 32);
  STATIC_REQUIRE(offsetof(ms_record, ptr) == 0);
  STATIC_REQUIRE(offsetof(ms_record, tgid) == 16);
  STATIC_REQUIRE(offsetof(ms_record, time) == 28);
}

TEST_CASE("record packing round-trips kind, api, tier, epoch and large sizes") {
  ms_record r{};
  const uint64_t size = (5ull << 32) + 123;  // 20 GiB and change
  r.size_lo = static_cast<uint32_t>(size);
  r.size_hi = static_cast<uint16_t>(size >> 32);
  r.kind_api = ms_pack_kind_api(MS_KIND_FREE, MS_API_PVALLOC);
  r.tier_epoch = ms_pack_tier_epoch(MS_TIER_FORCED, 63);
  CHECK(ms_record_size(&r) == size);
  CHECK(ms_record_kind(&r) == MS_KIND_FREE);
  CHECK(ms_record_api(&r) == MS_API_PVALLOC);
  CHECK(ms_record_tier(&r) == MS_TIER_FORCED);
  CHECK(ms_record_epoch(&r) == 63);
  r.tier_epoch = ms_pack_tier_epoch(MS_TIER_SMALL, 64);  // slots wrap
  CHECK(ms_record_epoch(&r) == 0);
}
