// Each site's figures window by window under a duty cycle, for the
// between-window variance (window_variance.h). The duty cycle says when an
// allocation window closed and how far each process's clocks moved in it;
// its records may still be in the ring then, so the window is folded when
// the first allocation record after its close arrives (none comes between
// windows: the allocating probes are detached), or at the end: each site's
// figure in the window is what its sums gained since the last fold.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <unordered_map>

#include "aggregate/id_table.h"
#include "aggregate/record_batch.h"
#include "aggregate/window_variance.h"

namespace memscope {

struct SiteStats;

// One site's figures over the folded windows.
struct SiteWindows {
  double count_base = 0, bytes_base = 0;  // its estimates at the last fold
  WindowSums count, bytes;
};

class WindowFolds {
 public:
  // An allocation window closed at `close_ns` (CLOCK_MONOTONIC, the
  // records' clock) with these clock advances per process. A window still
  // waiting to be folded is folded first.
  void closed(uint64_t close_ns, std::map<uint32_t, WindowDelta> deltas,
              const IdTable<SiteStats, uint32_t>& sites);
  // Before a batch is applied: true when it holds an allocation record
  // taken after the pending window's close.
  bool due(const RecordBatch& batch) const;
  // Folds the pending window, if any, into every site's sums.
  void fold(const IdTable<SiteStats, uint32_t>& sites);

  const SiteWindows* site(uint32_t id) const;
  const std::map<uint32_t, WindowClock>& clocks() const { return clocks_; }

 private:
  std::optional<uint64_t> pending_close_ns_;
  std::map<uint32_t, WindowDelta> pending_;
  std::map<uint32_t, WindowClock> clocks_;  // per process
  std::unordered_map<uint32_t, SiteWindows> sites_;
};

}  // namespace memscope
