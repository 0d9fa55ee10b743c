// The duty cycle's driver in the agent's loop: opens and closes windows on
// schedule, reads the counters around each change, and under --max-overhead
// re-plans the windows' share of time from what they measured. The pure
// logic (schedule, coverage, planner) is sampling/duty_cycle.h.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "aggregate/probe_cost.h"
#include "sampling/control_port.h"
#include "sampling/duty_cycle.h"
#include "sampling/release_schedule.h"

namespace memscope {

struct DutySettings {
  double window_s = 0, period_s = 0;  // --duty-cycle; 0: not fixed
  double overhead_budget = 0;         // --max-overhead as a fraction; 0: none
  // --duty-window: > 0 every window this long, 0 never cycle, < 0 chosen
  // with the share of time (WindowLength), no shorter than `min_window_s`.
  double overhead_window_s = 0;
  double min_window_s = 1.0;  // what the probes' mechanism allows (TraceRun)
  // --max-overhead --window-releases: the release probes are windowed too
  // (release_schedule.h); with a fixed --duty-cycle they stay attached.
  bool window_releases = false;
  bool verbose = false;
};

// What a step changed, for the caller's rate optimizer and log.
struct DutyChange {
  bool engaged = false, disengaged = false;  // --max-overhead started or stopped cycling
  std::string why;
};

class DutyWindows {
 public:
  // nullptr when neither --duty-cycle nor --max-overhead asks for windows.
  static std::unique_ptr<DutyWindows> make(const DutySettings& s, const ProbeCost& cost, uint64_t start_ns);

  // Before the targets are attached: splits the probes, takes the targets'
  // clocks at the start of the first window.
  void start(ControlPort& port, const std::vector<pid_t>& targets);
  // Told at each close of an allocation window: its time and how far each
  // process's clocks moved in it (the aggregator's between-window variance).
  using WindowClosed = std::function<void(uint64_t now_ns, const std::map<pid_t, WindowDelta>& moved)>;
  void on_window_closed(WindowClosed f) { window_closed_ = std::move(f); }
  // When the loop must wake next (0: nothing scheduled).
  uint64_t next_wake(uint64_t now, const ControlPort& port) const;
  // Opens or closes a window when one is due; `control_due`: a control
  // interval ended (the planner measures it while not cycling yet).
  DutyChange step(uint64_t now, ControlPort& port, bool control_due);
  // At the end, before the probes are detached: an open window is closed
  // (counted up to here), so the frees of the detach are outside it.
  void end(uint64_t now, ControlPort& port);
  bool counting() const { return cycle_.open(); }
  bool releases_windowed() const { return releases_ != nullptr; }
  DutyCycleReport finish(uint64_t now, const WorkClocks& final, const HitCost& hit_cost) const;

 private:
  void closed(uint64_t now, const std::map<pid_t, WindowDelta>& moved) const;
  WindowClosed window_closed_;
  struct Reading {
    WorkClocks clocks;
    std::map<pid_t, double> cpu_s;  // user and system
    std::map<pid_t, uint64_t> hits;
    uint64_t records = 0, release_calls = 0;
  };
  DutyWindows(const DutySettings& s, const ProbeCost& cost, uint64_t start_ns);
  static Reading read(const ControlPort& port);
  void log_clocks(uint64_t now, const char* what, const WorkClocks& clocks) const;
  static CostSample between(const Reading& later, const Reading& earlier);
  static WorkClocks midpoint(const Reading& a, const Reading& b);
  DutyChange replan(uint64_t now);
  bool step_releases(uint64_t now, ControlPort& port);
  // Flips one kind of window's counting between two readings; returns the
  // clocks at the flip.
  static WorkClocks flip(ControlPort& port, ProbeWindow kind, bool on, Reading* after);

  DutySettings settings_;
  uint64_t start_ns_;
  DutyCycle cycle_;
  std::unique_ptr<DutyPlanner> planner_;
  std::unique_ptr<ReleaseSchedule> releases_;  // null: the release probes stay attached
  Reading at_change_;
  // Release windows: the reading at the last allocation window's close,
  // from which a whole period's cost is measured.
  Reading at_period_;
  uint64_t at_period_ns_ = 0;
  double at_period_open_s_ = 0;  // both kinds' open time, summed, then
  bool have_period_ = false;
  bool cycled_ = false;  // a window has closed: the report has windows to show
};

}  // namespace memscope
