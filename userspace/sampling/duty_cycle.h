// Duty cycle: the probes of the entry points that only allocate are
// attached for windows (e.g. 1 s in every 30 s), those that can release a
// block (free, the deletes, realloc) stay attached throughout, so that every
// sampled block's end is still seen and leak figures stay right; under
// --max-overhead --window-releases they are windowed too, in release windows
// of their own (release_schedule.h), and both coverages are then measured
// on user CPU, the free clock being windowed itself.
//
// Calls between windows are not counted, so the allocation figures are
// scaled by the share of the process's work the windows covered, measured
// on the clocks of sampling/coverage_clock.h.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>

#include "aggregate/window_variance.h"
#include "sampling/coverage_clock.h"
#include "sampling/window_length.h"

namespace memscope {

struct DutyCycleReport {
  bool enabled = false;
  std::string chosen_by;              // "--duty-cycle" or "--max-overhead"
  double window_s = 0, period_s = 0;  // the last schedule
  uint64_t windows = 0;
  double open_s = 0, total_s = 0;  // wall time with the allocating probes attached, and in all
  std::string last_reason;
  std::map<pid_t, Coverage> coverage;
  // Per process, the allocation windows it was seen in: with two or more
  // its estimates' intervals include the spread between windows
  // (aggregate/window_variance.h), with one only the records' variance.
  std::map<pid_t, uint64_t> windows_by_process;
  // Release windows (--max-overhead --window-releases): the frees counted
  // are those inside them, and the live figures come from the frees seen.
  bool releases_windowed = false;
  uint64_t release_windows = 0;
  double release_open_s = 0;                // wall time with the release probes attached
  std::map<pid_t, Coverage> release_coverage;  // on the user CPU clock
};

// The share of time to keep the allocating probes attached so that the
// average added cost stays at `budget` (fractions of the traced processes'
// CPU): `in_window` is the cost measured with them attached, `between` the
// cost of the release probes alone. Clamped to [min_fraction, 1].
double duty_fraction(double budget, double in_window, double between, double min_fraction);

// What tracing cost the traced processes over a stretch of time.
struct CostSample {
  uint64_t hits = 0;           // traps, counted by the kernel per process
  uint64_t records = 0;        // sampled calls
  uint64_t release_calls = 0;  // free, the deletes and realloc: their probes stay between windows
  double cpu_s = 0;            // the traced processes' CPU (user and system)
};

// --max-overhead with windows: picks the windows' share of time from the
// cost measured with the allocating probes attached and, once a gap has
// been seen, without them.
class DutyPlanner {
 public:
  // `budget`: the added CPU allowed, as a fraction of the targets' CPU;
  // per-hit and per-record costs measured on this host.
  // `releases_windowed`: the release probes have windows of their own, of
  // the same share of time; the cost is then f x (each kind's cost alone,
  // summed), with no floor.
  DutyPlanner(double budget, double per_hit_ns, double per_record_ns, double min_fraction,
              bool releases_windowed = false);
  // A window's cost (or, before cycling, a control interval's). The
  // planner judges the last windows that hold kCpuJudged_s of the
  // processes' CPU together: their CPU is read in clock ticks (10 ms), so a
  // short window alone would be noisy; a window of 1 s on two threads is
  // judged alone.
  void window(const CostSample& s);
  void between(const CostSample& s);
  // Release windows: a whole period while cycling, in which windows of both
  // kinds held `fraction` of the time. The cost with every probe attached
  // is the period's over that share, whatever overlapped; the next share is
  // then budget / that, a feedback on what the period cost. `fraction`: the
  // share of time the windows were open over it, as measured.
  void period(const CostSample& s, double fraction);
  // The share of time for windows; nullopt until a window was measured.
  // 1 while the traps alone fit the budget: then fewer records, which the
  // rate optimizer chooses, are the cheaper way to keep it.
  std::optional<double> fraction() const;
  // The costs behind it, as fractions of the targets' CPU.
  double in_window() const { return in_window_; }
  double between() const { return between_; }

 private:
  double cost_of(const CostSample& s) const;
  static constexpr double kCpuJudged_s = 0.5;  // 50 ticks: +-2%
  // ...and at most this many, so that a process using little CPU (or the
  // control intervals before cycling) is not judged on half a minute back.
  static constexpr size_t kMostJudged = 8;
  std::deque<CostSample> recent_;  // the last windows, newest last
  double budget_, per_hit_ns_, per_record_ns_, min_fraction_;
  double in_window_ = -1, between_ = -1, traps_in_window_ = -1;
  bool between_measured_ = false, releases_windowed_ = false, period_measured_ = false;
};

class DutyCycle {
 public:
  // A fixed schedule (--duty-cycle) or one the optimizer sets (--max-overhead:
  // starts open, period_s == window_s).
  DutyCycle(double window_s, double period_s, std::string chosen_by, uint64_t start_ns);

  bool open() const { return open_; }
  uint64_t next_change_ns() const { return next_change_ns_; }
  // Record the clocks right after the window opened / right before it closed.
  void opened(uint64_t now_ns, const WorkClocks& clocks);
  // Returns how far each process's clocks moved in the window.
  std::map<pid_t, WindowDelta> closed(uint64_t now_ns, const WorkClocks& clocks);
  // A new share of time for the windows, from the next close on; 1 keeps
  // the probes attached. The window's length follows `length` when one
  // was given (set_length), else stays.
  void set_fraction(double fraction, const std::string& why);
  void set_length(const WindowLength& length) { length_ = length; }
  double fraction() const { return window_s_ / period_s_; }
  double window_s() const { return window_s_; }
  double period_s() const { return period_s_; }
  // Wall time with the allocating probes attached so far.
  double open_s(uint64_t now_ns) const { return open_s_ + (open_ ? (now_ns - opened_ns_) / 1e9 : 0); }
  // Releases windowed: the free clock counts only inside release windows,
  // so the coverage is read on user CPU.
  void use_user_cpu_clock() { user_cpu_only_ = true; }
  // `final` are the clocks at the end of tracing (a window still open is
  // closed there); `hit_cost` the calibration's.
  DutyCycleReport finish(uint64_t now_ns, const WorkClocks& final, const HitCost& hit_cost) const;

 private:
  double window_s_, period_s_;
  std::optional<WindowLength> length_;
  std::string chosen_by_, reason_;
  uint64_t start_ns_, opened_ns_ = 0, next_change_ns_ = 0;
  bool open_ = true, user_cpu_only_ = false;
  uint64_t windows_ = 0;
  double open_s_ = 0;
  WorkClocks at_open_;
  void saw(const WorkClocks& clocks);
  std::map<pid_t, WorkClock> first_, last_;  // user CPU and hits at the first and last reading
  std::map<pid_t, WorkClock> in_windows_;         // sums over closed windows
  std::map<pid_t, uint64_t> windows_seen_;        // closed windows each process was in
};

}  // namespace memscope
