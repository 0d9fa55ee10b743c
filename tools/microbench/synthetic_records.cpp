#include "synthetic_records.h"

#include <random>

namespace memscope::bench {
namespace {
ms_record make(uint32_t kind, uint32_t api, uint64_t ptr, uint64_t size, uint32_t site, uint32_t tier, uint32_t tgid,
               uint32_t time) {
  ms_record r{};
  r.ptr = ptr;
  r.size_lo = static_cast<uint32_t>(size);
  r.size_hi = static_cast<uint16_t>(size >> 32);
  r.kind_api = ms_pack_kind_api(kind, api);
  r.tier_epoch = ms_pack_tier_epoch(tier, 0);
  r.tgid = tgid;
  r.tid = tgid + (site & 1);
  r.site_id = kind == MS_KIND_FREE ? MS_NO_SITE : site;
  r.time = time;
  return r;
}

uint32_t tier_of(uint64_t size) { return size < 1024 ? MS_TIER_SMALL : size <= 8192 ? MS_TIER_MEDIUM : MS_TIER_LARGE; }
}  // namespace

std::vector<ms_record> make_records(Stream kind, size_t n, size_t live, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<ms_record> out;
  out.reserve(n + live);
  const uint32_t tgid = 4242;
  uint64_t next_ptr = 0x55550000'0000ull;
  uint32_t time = 1000;
  auto size_draw = [&]() -> uint64_t {
    // The game profile's mix: mostly 16-64 B objects, some KiB-sized
    // buffers, rare MiB textures.
    const uint64_t r = rng() % 1000;
    if (r < 900) return 16 + rng() % 49;
    if (r < 990) return 1024 + rng() % 8192;
    if (r < 999) return 16384 + rng() % 65536;
    return (4ull << 20) + rng() % (12ull << 20);
  };
  auto api_draw = [&] {
    const uint64_t r = rng() % 10;
    return r < 7 ? MS_API_MALLOC : r < 9 ? MS_API_CALLOC : MS_API_REALLOC;
  };
  for (size_t i = 0; i < live; ++i) {
    const uint64_t size = size_draw();
    out.push_back(make(MS_KIND_ALLOC, api_draw(), next_ptr, size, rng() % 24, tier_of(size), tgid, time));
    next_ptr += (size + 31) & ~15ull;
  }
  std::vector<uint64_t> recent;  // allocated by the stream, not yet freed
  while (out.size() < n + live) {
    ++time;
    const bool free_one = !recent.empty() && (kind == Stream::sample_all ? rng() % 2 == 0 : rng() % 8 == 0);
    if (free_one || recent.size() > 4096) {
      const size_t k = rng() % recent.size();
      out.push_back(make(MS_KIND_FREE, MS_API_FREE, recent[k], 0, MS_NO_SITE, 0, tgid, time));
      recent[k] = recent.back();
      recent.pop_back();
      continue;
    }
    const uint64_t size = size_draw();
    uint32_t tier = tier_of(size);
    if (kind == Stream::tiered && tier == MS_TIER_SMALL) tier = MS_TIER_FORCED;  // small ones mostly come forced
    out.push_back(make(MS_KIND_ALLOC, api_draw(), next_ptr, size, rng() % 24, tier, tgid, time));
    recent.push_back(next_ptr);
    next_ptr += (size + 31) & ~15ull;
  }
  return out;
}

}  // namespace memscope::bench
