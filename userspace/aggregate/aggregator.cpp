#include "aggregate/aggregator.h"

namespace memscope {

void Aggregator::free_block(uint32_t tgid, uint64_t ptr) {
  auto it = live_.find({tgid, ptr});
  if (it == live_.end()) {
    ++counters_.unmatched_frees;
    return;
  }
  const LiveBlock& b = it->second;
  if (auto s = sites_.find(b.site); s != sites_.end()) {
    s->second.live_count -= b.weight;
    s->second.live_bytes -= b.weight * static_cast<double>(b.size);
    s->second.sampled_live -= 1;
  }
  live_.erase(it);
}

void Aggregator::apply(const RecordBatch& b) {
  const size_t n = b.count();
  counters_.records += n;
  for (size_t i = 0; i < n; ++i) {
    if (b.kind[i] == MS_KIND_FREE) {
      ++counters_.frees;
      free_block(b.tgid[i], b.ptr[i]);
      continue;
    }
    ++counters_.allocations;
    ++counters_.by_tier[b.tier[i] & 3];
    const double w = history_.weight(b.tier[i], b.epoch[i]);
    const double bytes = w * static_cast<double>(b.size[i]);
    SiteStats& s = sites_[b.site[i]];
    s.tgid = b.tgid[i];
    s.count += w;
    s.bytes += bytes;
    s.live_count += w;
    s.live_bytes += bytes;
    s.sampled += 1;
    s.sampled_live += 1;
    // The kernel only reports a block again once it has been freed, so an
    // existing entry here is a block whose free we never saw: replace it.
    auto [it, fresh] = live_.try_emplace({b.tgid[i], b.ptr[i]});
    if (!fresh) free_block(b.tgid[i], b.ptr[i]), it = live_.try_emplace({b.tgid[i], b.ptr[i]}).first;
    it->second = {b.site[i], b.size[i], w, b.time_ns[i]};
  }
}

}  // namespace memscope
