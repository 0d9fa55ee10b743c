#include "aggregate/aggregator.h"

#include <tuple>

namespace memscope {
namespace {
// How far ahead of use a live slot is prefetched: enough records that the
// slot's cache miss is over when its record is applied (BM_Apply,
// docs/measurements.md#microbenchmarks).
constexpr size_t kPrefetchAhead = 16;

// One record of weight w and `size` bytes into a site's or a thread's sums
// (see SiteStats for the variance term).
template <typename Stats>
void add_sample(Stats& s, double w, double size) {
  const double v = w * (w - 1);
  s.count += w;
  s.bytes += w * size;
  s.var_count += v;
  s.var_bytes += v * size * size;
  s.sampled += 1;
}
}  // namespace

void Aggregator::add_batch_sums(const BatchSums& sums) {
  totals_ += sums;
  counters_.records += sums.records;
  counters_.allocations += sums.allocations;
  counters_.frees += sums.frees;
  for (unsigned g = 0; g < kGroups; ++g) {
    const uint64_t n = sums.group_count[g];
    if (!n) continue;
    const unsigned tier = g >> 6, slot = g & MS_EPOCH_MASK;
    counters_.by_tier[tier] += n;
    // In bytes mode the weight depends on each block's size: those records
    // are weighted one by one in allocate().
    if (history_.by_bytes(slot)) continue;
    const double w = weight(tier, slot, 0);
    weighted_.count += w * static_cast<double>(n);
    weighted_.bytes += w * static_cast<double>(sums.group_bytes[g]);
  }
}

SiteLifetimes& Aggregator::lifetimes_of(SiteStats& s) {
  if (!s.lifetimes_slot) {
    lifetimes_.emplace_back();
    s.lifetimes_slot = static_cast<uint32_t>(lifetimes_.size());
  }
  return lifetimes_[s.lifetimes_slot - 1];
}

const SiteLifetimes* Aggregator::lifetimes(uint32_t site) const {
  const SiteStats* s = sites_.find(site);
  return s && s->lifetimes_slot ? &lifetimes_[s->lifetimes_slot - 1] : nullptr;
}

void Aggregator::end_block(const LiveSlot& slot, LifetimeBucket bucket) {
  const LiveBlock b = slot.block();
  SiteStats* s = sites_.find(b.site);
  if (!s) return;  // never: its allocation made the entry
  const double size = static_cast<double>(b.size), v = b.weight * (b.weight - 1);
  s->live_count -= b.weight;
  s->live_bytes -= b.weight * size;
  s->var_live_count -= v;
  s->var_live_bytes -= v * size * size;
  s->sampled_live -= 1;
  lifetimes_of(*s).buckets[bucket].add(b.weight, size);
}

void Aggregator::free_block(uint32_t tgid, uint64_t ptr, uint64_t hash, uint64_t time_ns) {
  LiveSlot* block = live_.find({tgid, ptr}, hash);
  if (!block) {
    ++counters_.unmatched_frees;
    return;
  }
  // Both times are whole record units, the free's never before the
  // allocation's (one monotonic clock); the guard is for a free record
  // older than the drain's anchor allows (~73 min).
  const LiveBlock b = block->block();
  if (SiteStats* s = sites_.find(b.site)) s->seen_frees.add(b.weight, static_cast<double>(b.size));
  end_block(*block, lifetime_bucket(time_ns > b.time_ns ? time_ns - b.time_ns : 0));
  live_.erase(block);
}

void Aggregator::allocate(const RecordBatch& b, size_t i) {
  const uint64_t size_bytes = b.size[i];
  const double w = weight(b.tier[i], b.epoch[i], size_bytes);
  const double size = static_cast<double>(size_bytes), bytes = w * size, v = w * (w - 1);
  if (history_.by_bytes(b.epoch[i])) {
    weighted_.count += w;
    weighted_.bytes += bytes;
  }
  SiteStats& s = sites_[b.site[i]];
  s.tgid = b.tgid[i];
  if (!s.sampled) s.first_ns = b.time_ns[i];
  add_sample(s, w, size);
  ThreadStats& t = threads_[(static_cast<uint64_t>(b.tgid[i]) << 32) | b.tid[i]];
  t.tgid = b.tgid[i];
  t.tid = b.tid[i];
  add_sample(t, w, size);
  // The kernel only reports a block again once it has been freed, so an
  // existing entry here is a block whose free we never saw: replace it.
  const LiveKey key{b.tgid[i], b.ptr[i]};
  LiveSlot* block;
  if (live_.size() < max_live_) {
    bool fresh;
    std::tie(block, fresh) = live_.insert(key, b.live_hash[i]);
    if (!fresh) end_block(*block, kEndUnseen);
  } else if ((block = live_.find(key, b.live_hash[i]))) {
    end_block(*block, kEndUnseen);
  } else {
    ++counters_.live_untracked;
    s.sampled_unfollowed += 1;
    lifetimes_of(s).buckets[kEndUnseen].add(w, size);  // its free will not be matched
    return;
  }
  block->set(b.site[i], size_bytes, static_cast<float>(w), b.time_ns[i]);
  s.live_count += w;
  s.live_bytes += bytes;
  s.var_live_count += v;
  s.var_live_bytes += v * size * size;
  s.sampled_live += 1;
}

void Aggregator::apply(const RecordBatch& b) {
  if (windows_.due(b)) windows_.fold(sites_);
  BatchSums sums;
  if (kernels_ == Kernels::simd) sum_batch(b, sums);
  else sum_batch_scalar(b, sums);
  add_batch_sums(sums);

  const size_t n = b.count();
  for (size_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) live_.prefetch(b.live_hash[i + kPrefetchAhead]);
    if (b.kind[i] == MS_KIND_FREE) free_block(b.tgid[i], b.ptr[i], b.live_hash[i], b.time_ns[i]);
    else allocate(b, i);
  }
  live_.compact();
}

}  // namespace memscope
