#include "aggregate/window_folds.h"

#include "aggregate/aggregator.h"
#include "memscope/record.h"

namespace memscope {

void WindowFolds::closed(uint64_t close_ns, std::map<uint32_t, WindowDelta> deltas,
                         const IdTable<SiteStats, uint32_t>& sites) {
  fold(sites);
  pending_close_ns_ = close_ns;
  pending_ = std::move(deltas);
}

bool WindowFolds::due(const RecordBatch& batch) const {
  if (!pending_close_ns_) return false;
  for (size_t i = 0, n = batch.count(); i < n; ++i)
    if (batch.kind[i] != MS_KIND_FREE && batch.time_ns[i] > *pending_close_ns_) return true;
  return false;
}

void WindowFolds::fold(const IdTable<SiteStats, uint32_t>& sites) {
  if (!pending_close_ns_) return;
  static const WindowDelta kNone{};
  for (const auto& [id, s] : sites) {
    auto d = pending_.find(s.tgid);
    SiteWindows& w = sites_[id];
    const WindowDelta& delta = d == pending_.end() ? kNone : d->second;
    w.count.add(s.count - w.count_base, delta);
    w.bytes.add(s.bytes - w.bytes_base, delta);
    w.count_base = s.count;
    w.bytes_base = s.bytes;
  }
  for (const auto& [tgid, delta] : pending_) clocks_[tgid].add(delta);
  pending_close_ns_.reset();
  pending_.clear();
}

const SiteWindows* WindowFolds::site(uint32_t id) const {
  auto it = sites_.find(id);
  return it == sites_.end() ? nullptr : &it->second;
}

}  // namespace memscope
