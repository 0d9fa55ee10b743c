// Release windows (--max-overhead --window-releases): the probes of free and
// the deletes are attached for windows of the same length and period as the
// allocation windows, but each starts at a random phase within its period,
// drawn afresh every period and independent of the allocation windows, so
// that any free, whatever its block's lifetime, falls in a release window
// with probability c_r = window / period. A phase that would run past its
// period's end wraps to the period's start, so every instant is covered with
// the same probability. The frees seen are then weighted by 1 / c_r
// (aggregate/live_estimate.h), c_r measured on the process's user CPU clock.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <utility>

#include "sampling/duty_cycle.h"

namespace memscope {

class ReleaseSchedule {
 public:
  explicit ReleaseSchedule(uint64_t seed) : rng_(seed) {}

  // From `now_ns` on, windows of `window_s` in every `period_s` (window >=
  // period: attached throughout). Called again, the new schedule starts
  // with a new period at `now_ns`; the state (open or not) is unchanged
  // until next_change_ns().
  void plan(uint64_t now_ns, double window_s, double period_s);
  bool open() const { return open_; }
  // Wall time with the release probes attached so far.
  double open_s(uint64_t now_ns) const { return open_s_ + (open_ ? (now_ns - opened_ns_) / 1e9 : 0); }
  // When the probes must next come or go; 0: never (attached throughout).
  uint64_t next_change_ns() const;
  // Record the clocks right after the window opened / right before it closed.
  void opened(uint64_t now_ns, const WorkClocks& clocks);
  void closed(uint64_t now_ns, const WorkClocks& clocks);

  struct Summary {
    uint64_t windows = 0;
    double open_s = 0;
    std::map<pid_t, double> user_cpu_in_windows_s;
    std::map<pid_t, uint64_t> hits_in_windows;  // for the user CPU clock's correction
    std::map<pid_t, uint64_t> user_ticks_in_windows;
  };
  // `final`: the clocks at the end (a window still open is counted to here).
  Summary finish(uint64_t now_ns, const WorkClocks& final) const;

 private:
  void draw_period();
  std::mt19937_64 rng_;  // the phases' source, this schedule's own
  double window_s_ = 1, period_s_ = 1;
  uint64_t next_period_ns_ = 0;
  std::deque<std::pair<uint64_t, uint64_t>> pieces_;  // upcoming windows [open, close)
  bool open_ = true;
  uint64_t opened_ns_ = 0, windows_ = 0;
  double open_s_ = 0;
  WorkClocks at_open_;
  std::map<pid_t, double> in_windows_;
  std::map<pid_t, uint64_t> hits_in_windows_, ticks_in_windows_;
};

}  // namespace memscope
