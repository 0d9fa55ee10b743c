// Turns sampled records into per-site estimates: each allocation record is
// weighted by the inverse of the probability it was sampled with, and stays
// in the live table, keyed by (process, pointer), until its free arrives.
#pragma once
#include <array>
#include <cstdint>
#include <unordered_map>

#include "aggregate/record_batch.h"
#include "sampling/config_history.h"

namespace memscope {

struct SiteStats {
  uint32_t tgid = 0;
  double count = 0, bytes = 0;            // estimated allocations and bytes
  double live_count = 0, live_bytes = 0;  // estimated, still allocated
  uint64_t sampled = 0, sampled_live = 0; // records behind the estimates
};

struct LiveBlock {
  uint32_t site = MS_NO_SITE;
  uint64_t size = 0;
  double weight = 0;
  uint64_t time_ns = 0;
};

struct LiveKey {
  uint32_t tgid;
  uint64_t ptr;
  bool operator==(const LiveKey&) const = default;
};
struct LiveKeyHash {
  size_t operator()(const LiveKey& k) const {
    uint64_t h = k.ptr * 0x9E3779B97F4A7C15ull ^ (static_cast<uint64_t>(k.tgid) << 17);
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

struct RecordCounters {
  uint64_t records = 0, allocations = 0, frees = 0;
  uint64_t unmatched_frees = 0;                 // free of a block recorded before we attached
  std::array<uint64_t, 4> by_tier{};            // small, medium, large, forced
};

class Aggregator {
 public:
  explicit Aggregator(const ConfigHistory& history) : history_(history) {}

  void apply(const RecordBatch& batch);

  const std::unordered_map<uint32_t, SiteStats>& sites() const { return sites_; }
  const std::unordered_map<LiveKey, LiveBlock, LiveKeyHash>& live() const { return live_; }
  const RecordCounters& counters() const { return counters_; }

 private:
  void free_block(uint32_t tgid, uint64_t ptr);

  const ConfigHistory& history_;
  std::unordered_map<uint32_t, SiteStats> sites_;
  std::unordered_map<LiveKey, LiveBlock, LiveKeyHash> live_;
  RecordCounters counters_;
};

}  // namespace memscope
