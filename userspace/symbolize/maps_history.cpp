#include "symbolize/maps_history.h"

#include <algorithm>
#include <cstdint>

namespace memscope {

bool MapsHistory::add(uint64_t taken_ns, std::vector<Mapping> maps) {
  Snapshot s{taken_ns, nullptr};
  if (!snapshots_.empty()) {
    const Snapshot& last = snapshots_.back();
    if (*last.maps == maps) {
      // The same mappings: a new snapshot only to stand for a new epoch.
      if (changes_.empty() || changes_.back().first < last.taken_ns) return false;
      s.maps = last.maps;
    }
  }
  if (!s.maps) s.maps = std::make_shared<const std::vector<Mapping>>(std::move(maps));
  // Appended, in time order: a snapshot's index never changes.
  if (!snapshots_.empty()) s.taken_ns = std::max(s.taken_ns, snapshots_.back().taken_ns);
  snapshots_.push_back(std::move(s));
  return true;
}

void MapsHistory::copy_latest(const MapsHistory& other) {
  if (!snapshots_.empty() || other.snapshots_.empty()) return;  // one of its own comes first
  snapshots_.push_back(Snapshot{0, other.snapshots_.back().maps});
}

void MapsHistory::changed(uint64_t when_ns, Change kind) {
  const std::pair<uint64_t, Change> c{when_ns, kind};
  auto at = std::upper_bound(changes_.begin(), changes_.end(), c,
                             [](const auto& a, const auto& b) { return a.first < b.first; });
  if (at != changes_.begin() && *(at - 1) == c) return;
  changes_.insert(at, c);
}

std::optional<MapsHistory::Found> MapsHistory::find(uint64_t address, uint64_t when_ns) const {
  // The epoch of `when_ns`, [lo, hi), between the changes around it; no
  // object mapped before the last exec can hold anything after it.
  uint64_t lo = 0, hi = UINT64_MAX, exec_lo = 0;
  for (const auto& [t, kind] : changes_) {
    if (t > when_ns) {
      hi = t;
      break;
    }
    lo = t;
    if (kind == Change::exec) exec_lo = t;
  }
  std::optional<Found> before, after, earlier;
  for (size_t i = 0; i < snapshots_.size(); ++i) {
    const uint64_t t = snapshots_[i].taken_ns;
    if (t < exec_lo) continue;
    if (t >= hi) break;
    const Mapping* m = find_mapping(*snapshots_[i].maps, address);
    if (!m) continue;
    if (t > when_ns) {
      if (!after) after = Found{m, i};
    } else {
      (t >= lo ? before : earlier) = Found{m, i};
    }
  }
  // Before the call, within its epoch, the object was already there and
  // nothing was loaded since; after it, the next dlopen may be mapping its
  // objects already if its start is unknown.
  if (before) return before;
  if (after) return after;
  return earlier;
}

}  // namespace memscope
