// ProcessTracker::sweep_copies: the breakpoints that untraced children
// carry in their copies of a traced parent's memory, swept out.
#include <algorithm>
#include <cstdio>

#include "common/clock.h"
#include "follow/process_tracker.h"

namespace memscope {

namespace {
// A sweep attaches a link per object (~45 ms each measured): at most one
// every 200 ms, and never more than a fifth of the agent's time in a storm
// of forks.
constexpr uint64_t kSweepGapNs = 200'000'000, kSweepCostShare = 5;
}  // namespace

uint64_t ProcessTracker::next_sweep_ns() const {
  return unswept_.empty() ? 0 : last_sweep_ns_ + std::max(kSweepGapNs, kSweepCostShare * last_sweep_cost_ns_);
}

void ProcessTracker::sweep_copies(uint64_t now_ns) {
  if (unswept_.empty() || now_ns < next_sweep_ns()) return;
  const uint64_t start = monotonic_ns();
  for (pid_t parent : unswept_) {
    // A parent gone since still has its sites recorded until its exit is
    // handled (retire), and the sweep needs no live parent.
    const uint64_t t0 = monotonic_ns();
    const size_t objects = session_.sweep_copies(parent);
    if (objects && options_.verbose)
      fprintf(stderr,
              "memscope-bpf: PID %d forked an untraced child: its breakpoints swept out of the copy (%zu objects, "
              "%.1f ms)\n",
              parent, objects, (monotonic_ns() - t0) / 1e6);
  }
  unswept_.clear();
  last_sweep_ns_ = monotonic_ns();
  last_sweep_cost_ns_ = last_sweep_ns_ - start;
}

}  // namespace memscope
