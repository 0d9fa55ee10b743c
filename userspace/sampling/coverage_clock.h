// The coverage clock of the duty cycle (sampling/duty_cycle.h): the share
// of a process's work its windows held, which its allocation figures are
// divided by. Wall time is the wrong clock for that share: the traps slow
// the process inside a window, so a window holds less work than its share
// of time (an earlier wall-time version read far low:
// docs/measurements.md#duty-cycle-accuracy). The clocks, in the order
// coverage_of() takes them (measured against each other in
// docs/measurements.md#coverage-clocks):
// - the process's frees, which the kernel counts exactly in and out of
//   windows while the release probes stay attached: frees inside windows /
//   all frees;
// - the sampled user-mode clock (bpf/user_clock.bpf.h): a cpu-clock sample
//   every millisecond of each CPU's time, counted for the process when it
//   finds it running its own code; the traps' handling is kernel time, not
//   in it, but the user code after a trap runs slower (caches, TLB), so
//   less the user time per hit the calibration measured on this clock, then
//   raw;
// - its user CPU less what the traps add to it: part of a trap's time is
//   accounted to user ticks and the user code after a trap runs slower
//   (caches, TLB), so raw user CPU reads high inside windows; the
//   calibration measures the user time added per hit;
// - raw user CPU.
// A counter of user instructions retired would be the exact clock where a
// PMU exists; these hosts have none, and it is not implemented.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "aggregate/window_variance.h"

namespace memscope {

// A process's work clocks at one moment.
struct WorkClock {
  uint64_t frees = 0;      // calls of free and the deletes, counted by the kernel
  double user_cpu_s = -1;  // -1: unknown (gone)
  uint64_t hits = 0;       // probe hits (traps), counted by the kernel
  double cpu_s = -1;       // user and system CPU; -1: unknown
  uint64_t user_ticks = 0;  // the sampled user-mode clock's ticks (bpf/user_clock.bpf.h)
};
using WorkClocks = std::map<pid_t, WorkClock>;

// A process's clocks summed over its windows and over the whole trace.
struct ClockSums {
  uint64_t frees_in_windows = 0, frees_total = 0;
  double user_cpu_in_windows_s = 0, user_cpu_total_s = 0;
  uint64_t hits_in_windows = 0, hits_total = 0;
  double cpu_in_windows_s = 0, cpu_total_s = 0;  // user and system
  uint64_t user_ticks_in_windows = 0, user_ticks_total = 0;
  // The release probes stayed attached between windows, so that every free
  // was counted; without it the free clock is not one.
  bool frees_exact = true;
};

// What the calibration measured a probe hit to cost (ns; 0: not measured):
// in user CPU time, in all (the probed loop's time over the bare one's), and
// in user time on the sampled user-mode clock.
struct HitCost {
  double user_ns = 0, cpu_ns = 0, tick_ns = 0;
};

struct Coverage {
  ClockSums sums;
  HitCost hit_cost;
  double by_frees = 0, by_user_cpu = 0, by_user_ticks = 0;
  double by_user_cpu_corrected = -1;  // -1: the hit's cost was not measured
  double by_cpu_corrected = -1;
  double by_user_ticks_corrected = -1;  // -1: the hit's cost on that clock was not measured
  double value = 1;  // the one the estimates are divided by; 0: not covered (no estimate)
  std::string clock = "frees";
  // The same clock in the terms of the per-window sums (aggregate/
  // window_variance.h); none for "none".
  std::optional<ClockChoice> choice;
};

// The fewest frees inside windows for which the free clock is trusted; below
// it a process's coverage comes from its user CPU time.
constexpr uint64_t kMinFreesForClock = 1000;

// Coverage of one process from its clocks summed over the windows, with
// the user CPU time a probe hit adds (ns, 0: not measured). Takes the first
// clock available in the order above and says which in `clock`: "frees",
// "user_ticks_corrected", "user_ticks", "user_cpu_corrected", "user_cpu", or
// "none" when no clock moved inside a window.
Coverage coverage_of(const ClockSums& sums, const HitCost& hit_cost);

}  // namespace memscope
