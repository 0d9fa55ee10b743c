#include "sampling/control_loop.h"

#include <algorithm>

#include "common/clock.h"
#include "targets/process.h"

namespace memscope {

ControlLoop::ControlLoop(const ControlSettings& settings, const ProbeCost& cost, ConfigHistory& history,
                         std::mutex& lock, ControlPort& port, uint64_t start_ns)
    : settings_(settings),
      cost_(cost),
      history_(history),
      lock_(lock),
      port_(port),
      start_ns_(start_ns),
      interval_ns_(static_cast<uint64_t>(settings.interval_s * 1e9)) {
  port_.publish(history_.next(settings_.tiers, 0.0, "initial settings"));
  // Windows: fixed by --duty-cycle, or chosen by --max-overhead when the
  // probes alone cost more than it allows.
  duty_ = DutyWindows::make(settings_.duty, cost_, start_ns_);
  next_control_ = start_ns_ + interval_ns_;
  last_control_ = start_ns_;
}

void ControlLoop::start(const std::vector<pid_t>& targets) {
  if (duty_) duty_->start(port_, targets);
}

void ControlLoop::begin() {
  control_agent_cpu_ = process_cpu_seconds_self();
  const OptimizerBudget& b = settings_.budget;
  if (b.max_events_per_s > 0 || b.max_overhead_pct > 0 || b.max_sampled_pct > 0) {
    optimizer_ = make_optimizer(b.max_overhead_pct);
    control_target_cpu_ = targets_cpu();
  }
}

std::unique_ptr<Optimizer> ControlLoop::make_optimizer(double overhead_pct) const {
  const OptimizerBudget& b = settings_.budget;
  if (b.max_events_per_s <= 0 && b.max_sampled_pct <= 0 && overhead_pct <= 0) return nullptr;
  return std::make_unique<Optimizer>(OptimizerBudget{b.max_events_per_s, overhead_pct, b.max_sampled_pct}, cost_,
                                     settings_.tiers);
}

double ControlLoop::targets_cpu() const {
  double cpu = 0;
  for (pid_t pid : port_.live_pids()) cpu += std::max(0.0, process_cpu_seconds(pid));
  return cpu;
}

uint64_t ControlLoop::next_wake(uint64_t now) const {
  uint64_t wake = 0;
  if (optimizer_ || duty_) wake = next_control_;
  if (duty_)
    if (uint64_t w = duty_->next_wake(now, port_)) wake = wake ? std::min(wake, w) : w;
  return wake;
}

void ControlLoop::publish(uint64_t now, const TierConfig& config, const std::string& why) {
  const double t = (now - start_ns_) / 1e9;
  std::lock_guard<std::mutex> g(lock_);
  const TierConfig before = history_.current();
  port_.publish(history_.next(config, t, why));
  port_.rates_changed(t, before, config, why);
}

void ControlLoop::duty_changed(uint64_t now, bool engaged) {
  // Cycling, the windows keep the cost: inside them the rates are the
  // user's again (minimum rates would leave the windows empty) and only the
  // other budgets bind them. Not cycling, the rate optimizer has the
  // overhead budget back.
  optimizer_ = make_optimizer(engaged ? 0 : settings_.budget.max_overhead_pct);
  publish(now, settings_.tiers,
          engaged ? "duty cycle: the windows keep the cost" : "duty cycle off: the rates keep the cost");
}

void ControlLoop::optimize(uint64_t now) {
  const ExactCounts counts = port_.totals();
  const double target_cpu = targets_cpu();
  IntervalStats stats;
  stats.seconds = (now - last_control_) / 1e9;
  stats.counts = counts - control_counts_;
  stats.target_cpu_s = std::max(0.0, target_cpu - control_target_cpu_);
  const double agent_cpu = process_cpu_seconds_self();
  stats.agent_cpu_s = std::max(0.0, agent_cpu - control_agent_cpu_);
  control_agent_cpu_ = agent_cpu;
  if (auto d = optimizer_->step(stats)) publish(now, d->config, d->reason);
  control_counts_ = counts;
  control_target_cpu_ = target_cpu;
  last_control_ = now;
}

void ControlLoop::step(uint64_t now) {
  const bool due = now >= next_control_;
  if (duty_) {
    const DutyChange change = duty_->step(now, port_, due);
    if (change.engaged || change.disengaged) duty_changed(now, change.engaged);
    if (duty_->counting() && !was_counting_) {
      // A window's first control interval starts with it.
      last_control_ = now;
      control_counts_ = port_.totals();
      control_target_cpu_ = targets_cpu();
      control_agent_cpu_ = process_cpu_seconds_self();
    }
    was_counting_ = duty_->counting();
  }
  if (optimizer_ && due && (!duty_ || duty_->counting())) optimize(now);
  if ((optimizer_ || duty_) && due) next_control_ = now + interval_ns_;
}

void ControlLoop::end(uint64_t now) {
  if (duty_) duty_->end(now, port_);
}

DutyCycleReport ControlLoop::finish(uint64_t now, const WorkClocks& final, const HitCost& hit_cost) const {
  return duty_ ? duty_->finish(now, final, hit_cost) : DutyCycleReport{};
}

}  // namespace memscope
