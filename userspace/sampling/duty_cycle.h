// Duty cycle: the probes of the entry points that only allocate are
// attached for windows (e.g. 1 s in every 30 s), those that can release a
// block (free, the deletes, realloc) stay attached throughout, so that every
// sampled block's end is still seen and leak figures stay right; under
// --max-overhead without --leaks they are windowed too, in release windows
// of their own (release_schedule.h), and both coverages are then measured
// on user CPU, the free clock being windowed itself.
//
// Calls between windows are not counted, so the allocation figures are
// scaled by the share of the process's work the windows covered. Wall time
// is the wrong clock for that share: the traps slow the process inside a
// window, so a window holds less work than its share of time (an earlier
// wall-time version read far low: docs/measurements.md#duty-cycle-accuracy). The clock used is the process's frees,
// which the kernel counts exactly in and out of windows: coverage =
// frees inside windows / all frees. Its user CPU time (traps are kernel
// time) is kept beside it as a check, and used when a process frees too
// rarely for the free clock.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace memscope {

// A process's two work clocks at one moment.
struct WorkClock {
  uint64_t frees = 0;      // calls of free and the deletes, counted by the kernel
  double user_cpu_s = -1;  // -1: unknown (gone)
};
using WorkClocks = std::map<pid_t, WorkClock>;

struct Coverage {
  uint64_t frees_in_windows = 0, frees_total = 0;
  double user_cpu_in_windows_s = 0, user_cpu_total_s = 0;
  double by_frees = 0, by_user_cpu = 0;
  double value = 1;  // the one the estimates are divided by; 0: not covered (no estimate)
  std::string clock = "frees";
};

struct DutyCycleReport {
  bool enabled = false;
  std::string chosen_by;              // "--duty-cycle" or "--max-overhead"
  double window_s = 0, period_s = 0;  // the last schedule
  uint64_t windows = 0;
  double open_s = 0, total_s = 0;  // wall time with the allocating probes attached, and in all
  std::string last_reason;
  std::map<pid_t, Coverage> coverage;
  // Release windows (--max-overhead without --leaks): the frees counted
  // are those inside them, and the live figures come from the frees seen.
  bool releases_windowed = false;
  uint64_t release_windows = 0;
  double release_open_s = 0;                // wall time with the release probes attached
  std::map<pid_t, Coverage> release_coverage;  // on the user CPU clock
};

// The fewest frees inside windows for which the free clock is trusted; below
// it a process's coverage comes from its user CPU time.
constexpr uint64_t kMinFreesForClock = 1000;

// Coverage of one process from its clocks at every window's open and close
// and at the end.
Coverage coverage_of(uint64_t frees_in_windows, uint64_t frees_total, double cpu_in_windows, double cpu_total);

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
  void closed(uint64_t now_ns, const WorkClocks& clocks);
  // A new share of time for the windows, from the next close on; 1 keeps
  // the probes attached.
  void set_fraction(double fraction, const std::string& why);
  double fraction() const { return window_s_ / period_s_; }
  double window_s() const { return window_s_; }
  double period_s() const { return period_s_; }
  // Wall time with the allocating probes attached so far.
  double open_s(uint64_t now_ns) const { return open_s_ + (open_ ? (now_ns - opened_ns_) / 1e9 : 0); }
  // Releases windowed: the free clock counts only inside release windows,
  // so the coverage is read on user CPU.
  void use_user_cpu_clock() { user_cpu_only_ = true; }
  // `final` are the clocks at the end of tracing (a window still open is
  // closed there).
  DutyCycleReport finish(uint64_t now_ns, const WorkClocks& final) const;

 private:
  double window_s_, period_s_;
  std::string chosen_by_, reason_;
  uint64_t start_ns_, opened_ns_ = 0, next_change_ns_ = 0;
  bool open_ = true, user_cpu_only_ = false;
  uint64_t windows_ = 0;
  double open_s_ = 0;
  WorkClocks at_open_;
  void saw(const WorkClocks& clocks);
  std::map<pid_t, double> first_cpu_, last_cpu_;  // user CPU at first and last reading
  std::map<pid_t, WorkClock> in_windows_;         // sums over closed windows
};

}  // namespace memscope
