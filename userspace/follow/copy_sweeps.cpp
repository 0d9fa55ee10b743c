// ProcessTracker::sweep_copies: the breakpoints that untraced children
// carry in their copies of a traced parent's memory, swept out.
#include <cstdio>

#include "follow/process_tracker.h"

namespace memscope {

namespace {
constexpr uint64_t kSweepGapNs = 200'000'000;
}  // namespace

void ProcessTracker::sweep_copies(uint64_t now_ns) {
  if (unswept_.empty() || now_ns < last_sweep_ns_ + kSweepGapNs) return;
  for (pid_t parent : unswept_) {
    const TracedProcess* t = find(parent);
    if (!t || t->exited) continue;
    const size_t objects = session_.sweep_copies(parent);
    if (objects && options_.verbose)
      fprintf(stderr, "memscope-bpf: PID %d forked an untraced child: its breakpoints swept out of the copy (%zu objects)\n",
              parent, objects);
  }
  unswept_.clear();
  last_sweep_ns_ = now_ns;
}

}  // namespace memscope
