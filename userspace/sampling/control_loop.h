// The control loop: once per control interval the rate optimizer (when a
// budget is given) picks new per-tier rates from what the interval
// measured, and the duty cycle (--duty-cycle, or --max-overhead when the
// probes alone cost more than it allows) opens and closes windows. Its
// decisions reach the kernel through a ControlPort.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "aggregate/probe_cost.h"
#include "sampling/config_history.h"
#include "sampling/control_port.h"
#include "sampling/duty_windows.h"
#include "sampling/optimizer.h"

namespace memscope {

struct ControlSettings {
  OptimizerBudget budget;  // zeros: no optimizer
  TierConfig tiers;        // the user's rates
  double interval_s = 1;   // --control-interval
  DutySettings duty;
};

class ControlLoop {
 public:
  // Publishes the user's rates as the initial settings. `lock` guards
  // `history`, which the aggregator reads to weight records.
  ControlLoop(const ControlSettings& settings, const ProbeCost& cost, ConfigHistory& history, std::mutex& lock,
              ControlPort& port, uint64_t start_ns);
  // Before the targets are attached: the duty cycle splits the probes and
  // its first window starts with them.
  void start(const std::vector<pid_t>& targets);
  // Once the targets are attached: the optimizer's first interval starts.
  void begin();
  // When the loop must wake next for the control loop (0: never).
  uint64_t next_wake(uint64_t now) const;
  void step(uint64_t now);
  // At the end, before the probes are detached: an open window is closed.
  void end(uint64_t now);
  // The duty cycle's part of the report; `final`: every process's clocks at
  // the end; `hit_cost`: the calibration's.
  DutyCycleReport finish(uint64_t now, const WorkClocks& final, const HitCost& hit_cost) const;
  bool windowed() const { return duty_ != nullptr; }
  // Told at each close of an allocation window (DutyWindows::on_window_closed).
  void on_window_closed(DutyWindows::WindowClosed f) {
    if (duty_) duty_->on_window_closed(std::move(f));
  }

 private:
  std::unique_ptr<Optimizer> make_optimizer(double overhead_pct) const;
  // The duty cycle engaged or let go: the rates are re-decided.
  void duty_changed(uint64_t now, bool engaged);
  void optimize(uint64_t now);
  // The live targets' CPU (user and system) in seconds.
  double targets_cpu() const;
  void publish(uint64_t now, const TierConfig& config, const std::string& why);

  ControlSettings settings_;
  ProbeCost cost_;
  ConfigHistory& history_;
  std::mutex& lock_;
  ControlPort& port_;
  uint64_t start_ns_;
  uint64_t interval_ns_;
  std::unique_ptr<DutyWindows> duty_;
  std::unique_ptr<Optimizer> optimizer_;
  uint64_t next_control_ = 0, last_control_ = 0;
  ExactCounts control_counts_{};
  double control_target_cpu_ = 0, control_agent_cpu_ = 0;
  bool was_counting_ = true;
};

}  // namespace memscope
