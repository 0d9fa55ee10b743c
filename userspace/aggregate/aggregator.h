// Turns sampled records into per-site estimates: each allocation record is
// weighted by the inverse of the probability it was sampled with, and stays
// in the live table, keyed by (process, pointer), until its free arrives.
//
// Per batch: a SIMD pass (batch_sums.h) takes the whole-batch integer
// statistics (records per kind, tier, config slot, entry point, size
// class), which give the counters and, weighted once per group, the
// estimated totals; then one scalar pass updates the per-site, per-thread
// and live tables, prefetching live slots from the hashes decode computed.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "aggregate/batch_sums.h"
#include "aggregate/id_table.h"
#include "aggregate/lifetimes.h"
#include "aggregate/live_estimate.h"
#include "aggregate/live_table.h"
#include "aggregate/record_batch.h"
#include "aggregate/window_folds.h"
#include "sampling/config_history.h"

namespace memscope {

// An estimated total with the unbiased estimate of its variance: for a
// record chosen with probability p (weight w = 1/p) and value x, the
// estimate gains w*x and the variance estimate (1-p)/p^2 * x^2 = w(w-1) x^2.
struct SiteStats {
  uint32_t tgid = 0;
  uint32_t lifetimes_slot = 0;            // the aggregator's: 1 + index of its SiteLifetimes, 0: none yet
  double count = 0, bytes = 0;            // estimated allocations and bytes
  double live_count = 0, live_bytes = 0;  // estimated, still allocated
  double var_count = 0, var_bytes = 0, var_live_count = 0, var_live_bytes = 0;
  uint64_t sampled = 0, sampled_live = 0;  // records behind the estimates
  // Its sampled blocks whose free was seen: with windowed releases the live
  // figures are estimated from these (live_estimate.h), not from the blocks
  // left in the live table, whose frees may have fallen between windows.
  SeenFrees seen_frees;
  // Sampled blocks not followed (the live table at --max-live): their frees
  // can never be seen, so the leak verdict leaves them out.
  uint64_t sampled_unfollowed = 0;
  // When its first record was taken (CLOCK_MONOTONIC): its addresses are
  // those of the objects mapped then (symbolize/maps_history.h).
  uint64_t first_ns = 0;
};

struct ThreadStats {
  uint32_t tgid = 0, tid = 0;
  double count = 0, bytes = 0, var_count = 0, var_bytes = 0;
  uint64_t sampled = 0;
};

struct RecordCounters {
  uint64_t records = 0, allocations = 0, frees = 0;
  uint64_t unmatched_frees = 0;       // free of a block recorded before we attached
  uint64_t live_untracked = 0;        // allocations not followed: the live table was at its limit
  std::array<uint64_t, 4> by_tier{};  // small, medium, large, forced
};

// Estimated allocations and bytes over every allocation record.
struct WeightedTotals {
  double count = 0, bytes = 0;
  bool operator==(const WeightedTotals&) const = default;
};

// Which implementation computes the batch statistics: the same results
// either way (tests compare them); scalar is for those tests and for
// benchmarks.
enum class Kernels { simd, scalar };

using SiteTable = IdTable<SiteStats, uint32_t>;
using ThreadTable = IdTable<ThreadStats, uint64_t>;  // keyed by tgid << 32 | tid

class Aggregator {
 public:
  explicit Aggregator(const ConfigHistory& history, Kernels kernels = Kernels::simd)
      : history_(history), kernels_(kernels) {}

  void apply(const RecordBatch& batch);

  // Follows at most `max_blocks` live blocks, as the kernel does (its
  // --max-live table): the kernel sends no free for a block it could not
  // remember, so following more would only grow phantom leaks. This bounds
  // the agent's memory.
  void limit_live(size_t max_blocks) { max_live_ = max_blocks; }

  const SiteTable& sites() const { return sites_; }
  // Its ended blocks by lifetime; nullptr while none has ended.
  const SiteLifetimes* lifetimes(uint32_t site) const;
  LiveView live() const { return LiveView(live_); }
  const RecordCounters& counters() const { return counters_; }
  const ThreadTable& threads() const { return threads_; }
  const BatchSums& totals() const { return totals_; }           // integer sums over all batches
  const WeightedTotals& weighted() const { return weighted_; }  // the same, weighted

  // Under a duty cycle: an allocation window closed, with each process's
  // clock advances in it; its sites' figures are folded once its last
  // records are in (window_folds.h). fold_windows() at the end, after them.
  void window_closed(uint64_t close_ns, std::map<uint32_t, WindowDelta> deltas) {
    windows_.closed(close_ns, std::move(deltas), sites_);
  }
  void fold_windows() { windows_.fold(sites_); }
  const WindowFolds& windows() const { return windows_; }

  // Bytes held by the three tables (their slot arrays, all of their memory).
  size_t memory_bytes() const {
    return sites_.memory_bytes() + threads_.memory_bytes() + live_.memory_bytes() +
           lifetimes_.capacity() * sizeof(SiteLifetimes);
  }

 private:
  // The weight as stored with a live block; the site sums use the same
  // rounded value so that a free takes off exactly what the allocation added.
  double weight(uint32_t tier, uint32_t slot, uint64_t size) const {
    return static_cast<float>(history_.weight(tier, slot, size));
  }
  void add_batch_sums(const BatchSums& sums);
  void allocate(const RecordBatch& b, size_t i);
  // A live block ends: out of its site's live sums, into its lifetime bucket.
  void end_block(const LiveSlot& slot, LifetimeBucket bucket);
  SiteLifetimes& lifetimes_of(SiteStats& s);
  void free_block(uint32_t tgid, uint64_t ptr, uint64_t hash, uint64_t time_ns);

  const ConfigHistory& history_;
  Kernels kernels_;
  SiteTable sites_;
  ThreadTable threads_;
  // Apart from SiteStats, so that only sites whose blocks end take their
  // ~290 bytes; found through SiteStats::lifetimes_slot, not by another
  // hash lookup on every free.
  std::vector<SiteLifetimes> lifetimes_;
  LiveTable live_;
  RecordCounters counters_;
  BatchSums totals_;
  WeightedTotals weighted_;
  WindowFolds windows_;
  size_t max_live_ = SIZE_MAX;
};

}  // namespace memscope
