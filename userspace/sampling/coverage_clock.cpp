#include "sampling/coverage_clock.h"

#include <algorithm>

#include "memscope/processes.h"

namespace memscope {

namespace {

double ratio(double in, double total) { return total > 0 ? std::clamp(in / total, 0.0, 1.0) : 0; }

// A clock of work from a CPU clock and the hits: the time the traps added
// taken off in and out of windows alike (the release probes trap between
// windows too). -1 when the hit's cost was not measured.
double corrected(double in_s, double total_s, uint64_t hits_in, uint64_t hits_total, double ns_per_hit) {
  if (ns_per_hit <= 0 || total_s <= 0) return -1;
  const double in = std::max(0.0, in_s - hits_in * ns_per_hit / 1e9);
  const double out = std::max(0.0, (total_s - in_s) - (hits_total - hits_in) * ns_per_hit / 1e9);
  return ratio(in, in + out);
}

}  // namespace

Coverage coverage_of(const ClockSums& sums, const HitCost& hit_cost) {
  Coverage c;
  c.sums = sums;
  ClockSums& s = c.sums;
  s.frees_total = std::max(s.frees_total, s.frees_in_windows);
  s.user_cpu_total_s = std::max(s.user_cpu_total_s, s.user_cpu_in_windows_s);
  s.cpu_total_s = std::max(s.cpu_total_s, s.cpu_in_windows_s);
  s.hits_total = std::max(s.hits_total, s.hits_in_windows);
  s.user_ticks_total = std::max(s.user_ticks_total, s.user_ticks_in_windows);
  c.hit_cost = hit_cost;
  c.by_frees = ratio(static_cast<double>(s.frees_in_windows), static_cast<double>(s.frees_total));
  c.by_user_cpu = ratio(s.user_cpu_in_windows_s, s.user_cpu_total_s);
  c.by_user_ticks = ratio(static_cast<double>(s.user_ticks_in_windows), static_cast<double>(s.user_ticks_total));
  constexpr double kTickS = MS_USER_CLOCK_PERIOD_NS / 1e9;
  c.by_user_ticks_corrected = corrected(s.user_ticks_in_windows * kTickS, s.user_ticks_total * kTickS,
                                        s.hits_in_windows, s.hits_total, hit_cost.tick_ns);
  c.by_user_cpu_corrected =
      corrected(s.user_cpu_in_windows_s, s.user_cpu_total_s, s.hits_in_windows, s.hits_total, hit_cost.user_ns);
  c.by_cpu_corrected = corrected(s.cpu_in_windows_s, s.cpu_total_s, s.hits_in_windows, s.hits_total, hit_cost.cpu_ns);
  if (s.frees_exact && s.frees_in_windows >= kMinFreesForClock) {
    c.value = c.by_frees;
    c.clock = "frees";
    c.choice = ClockChoice{ClockChoice::Kind::frees, 0};
  } else if (s.user_ticks_in_windows > 0 && c.by_user_ticks_corrected > 0) {
    c.value = c.by_user_ticks_corrected;
    c.clock = "user_ticks_corrected";
    c.choice = ClockChoice{ClockChoice::Kind::user_ticks, hit_cost.tick_ns / MS_USER_CLOCK_PERIOD_NS};
  } else if (s.user_ticks_in_windows > 0) {
    c.value = c.by_user_ticks;
    c.clock = "user_ticks";
    c.choice = ClockChoice{ClockChoice::Kind::user_ticks, 0};
  } else if (c.by_user_cpu_corrected > 0) {
    c.value = c.by_user_cpu_corrected;
    c.clock = "user_cpu_corrected";
    c.choice = ClockChoice{ClockChoice::Kind::user_cpu, hit_cost.user_ns * 1e-9};
  } else if (c.by_user_cpu > 0) {
    c.value = c.by_user_cpu;
    c.clock = "user_cpu";
    c.choice = ClockChoice{ClockChoice::Kind::user_cpu, 0};
  } else if (s.frees_exact && c.by_frees > 0) {
    // Few frees and no CPU tick inside windows (a quiet process): the frees
    // are still the better clock than none.
    c.value = c.by_frees;
    c.clock = "frees";
    c.choice = ClockChoice{ClockChoice::Kind::frees, 0};
  } else {
    // No clock moved inside a window: the process was not seen there, and
    // its allocations cannot be estimated.
    c.value = 0;
    c.clock = "none";
  }
  return c;
}

}  // namespace memscope
