#include "sampling/duty_cycle.h"

#include <algorithm>
#include <cmath>

namespace memscope {

double duty_fraction(double budget, double in_window, double between, double min_fraction) {
  if (in_window <= budget) return 1.0;
  if (between >= budget || in_window <= between) return min_fraction;
  return std::clamp((budget - between) / (in_window - between), min_fraction, 1.0);
}

DutyPlanner::DutyPlanner(double budget, double per_hit_ns, double per_record_ns, double min_fraction,
                         bool releases_windowed)
    : budget_(budget),
      per_hit_ns_(per_hit_ns),
      per_record_ns_(per_record_ns),
      min_fraction_(min_fraction),
      releases_windowed_(releases_windowed) {}

double DutyPlanner::cost_of(const CostSample& s) const {
  if (s.cpu_s <= 0) return 0;
  return (s.hits * per_hit_ns_ + s.records * per_record_ns_) / (s.cpu_s * 1e9);
}

void DutyPlanner::window(const CostSample& one) {
  // Every window, even one whose CPU read 0 ticks: dropping those would
  // keep the hits of the windows that caught a tick and undercount none.
  recent_.push_back(one);
  auto cpu_of = [this] {
    double cpu = 0;
    for (const CostSample& w : recent_) cpu += w.cpu_s;
    return cpu;
  };
  while (recent_.size() > kMostJudged ||
         (recent_.size() > 1 && cpu_of() - recent_.front().cpu_s >= kCpuJudged_s - 1e-9))
    recent_.pop_front();
  CostSample s;
  for (const CostSample& w : recent_) {
    s.hits += w.hits;
    s.records += w.records;
    s.release_calls += w.release_calls;
    s.cpu_s += w.cpu_s;
  }
  if (s.cpu_s <= 0) return;
  in_window_ = cost_of(s);
  traps_in_window_ = cost_of({s.hits, 0, 0, s.cpu_s});
  if (between_measured_) return;
  // No gap seen yet: what the release probes alone would cost, from their
  // calls in the window, over the CPU the window took less the allocating
  // probes' share.
  const double release_ns = s.release_calls * per_hit_ns_;
  const double other_ns = std::max(
      0.0, (s.hits > s.release_calls ? s.hits - s.release_calls : 0) * per_hit_ns_ + s.records * per_record_ns_);
  const double cpu_without_ns = std::max(s.cpu_s * 1e9 - other_ns, release_ns);
  between_ = cpu_without_ns > 0 ? release_ns / cpu_without_ns : 0;
}

void DutyPlanner::between(const CostSample& s) {
  if (s.cpu_s <= 0) return;
  between_ = cost_of(s);
  between_measured_ = true;
}

void DutyPlanner::period(const CostSample& s, double fraction) {
  if (s.cpu_s <= 0 || fraction <= 0) return;
  in_window_ = cost_of(s) / fraction;
  traps_in_window_ = cost_of({s.hits, 0, 0, s.cpu_s}) / fraction;
  period_measured_ = true;
}

std::optional<double> DutyPlanner::fraction() const {
  if (in_window_ < 0) return std::nullopt;
  if (traps_in_window_ <= budget_) return 1.0;
  // Both kinds of window get the same share f: the cost is f x (allocating
  // probes' cost + release probes' cost), each measured alone. The traps
  // saturate a thread's CPU, so each kind alone costs nearly what every
  // probe attached does (on the malloc/free loop 91% against 96%): until a
  // whole period is measured, the release probes' own cost is added to the
  // cost with every probe attached, which stands for the allocating ones.
  if (releases_windowed_) {
    const double pair = in_window_ + (period_measured_ ? 0.0 : std::max(0.0, between_));
    return std::clamp(budget_ / pair, min_fraction_, 1.0);
  }
  return duty_fraction(budget_, in_window_, std::max(0.0, between_), min_fraction_);
}

DutyCycle::DutyCycle(double window_s, double period_s, std::string chosen_by, uint64_t start_ns)
    : window_s_(window_s),
      period_s_(std::max(period_s, window_s)),
      chosen_by_(std::move(chosen_by)),
      start_ns_(start_ns),
      opened_ns_(start_ns) {
  next_change_ns_ = period_s_ > window_s_ ? start_ns + static_cast<uint64_t>(window_s_ * 1e9) : 0;
}

void DutyCycle::saw(const WorkClocks& clocks) {
  for (const auto& [pid, c] : clocks) {
    if (c.user_cpu_s < 0) continue;
    first_.try_emplace(pid, c);
    last_[pid] = c;
  }
}

namespace {

// What a process's user CPU and hits moved between two readings; nothing
// when the earlier is missing (the process first counted in between).
void add_moved(WorkClock& sum, const WorkClocks& earlier, pid_t pid, const WorkClock& later) {
  auto o = earlier.find(pid);
  if (o == earlier.end() || o->second.user_cpu_s < 0 || later.user_cpu_s < o->second.user_cpu_s) return;
  sum.user_cpu_s += later.user_cpu_s - o->second.user_cpu_s;
  sum.hits += later.hits >= o->second.hits ? later.hits - o->second.hits : 0;
  sum.user_ticks += later.user_ticks >= o->second.user_ticks ? later.user_ticks - o->second.user_ticks : 0;
  if (later.cpu_s >= o->second.cpu_s && o->second.cpu_s >= 0) sum.cpu_s = std::max(0.0, sum.cpu_s) + later.cpu_s - o->second.cpu_s;
}

}  // namespace

void DutyCycle::opened(uint64_t now_ns, const WorkClocks& clocks) {
  saw(clocks);
  open_ = true;
  opened_ns_ = now_ns;
  at_open_ = clocks;
  next_change_ns_ = period_s_ > window_s_ ? now_ns + static_cast<uint64_t>(window_s_ * 1e9) : 0;
}

std::map<pid_t, WindowDelta> DutyCycle::closed(uint64_t now_ns, const WorkClocks& clocks) {
  saw(clocks);
  std::map<pid_t, WindowDelta> moved;
  for (const auto& [pid, c] : clocks) {
    WorkClock& sum = in_windows_[pid];
    auto o = at_open_.find(pid);
    // A process first counted inside this window started its counters at 0.
    const uint64_t frees_open = o == at_open_.end() ? 0 : o->second.frees;
    WorkClock in{c.frees >= frees_open ? c.frees - frees_open : 0, 0, 0, -1};
    add_moved(in, at_open_, pid, c);
    sum.frees += in.frees;
    if (sum.user_cpu_s < 0) sum.user_cpu_s = 0;
    sum.user_cpu_s += in.user_cpu_s;
    sum.hits += in.hits;
    sum.user_ticks += in.user_ticks;
    if (in.cpu_s >= 0) sum.cpu_s = std::max(0.0, sum.cpu_s) + in.cpu_s;
    // A process gone before the window (its clocks unread and unmoved)
    // was not in it: not a window of its own, nor a zero in the spread.
    if (c.user_cpu_s < 0 && in.frees == 0 && in.hits == 0) continue;
    moved[pid] = {static_cast<double>(in.frees), in.user_cpu_s, static_cast<double>(in.hits),
                  static_cast<double>(in.user_ticks)};
    windows_seen_[pid] += 1;
  }
  open_ = false;
  ++windows_;
  open_s_ += (now_ns - opened_ns_) / 1e9;
  next_change_ns_ = opened_ns_ + static_cast<uint64_t>(period_s_ * 1e9);
  if (next_change_ns_ <= now_ns) next_change_ns_ = now_ns + 1;
  return moved;
}

void DutyCycle::set_fraction(double fraction, const std::string& why) {
  fraction = std::clamp(fraction, 1e-6, 1.0);
  reason_ = why;
  if (length_) window_s_ = length_->for_fraction(fraction);
  period_s_ = window_s_ / fraction;
  if (open_) next_change_ns_ = fraction >= 1.0 ? 0 : opened_ns_ + static_cast<uint64_t>(window_s_ * 1e9);
  else next_change_ns_ = opened_ns_ + static_cast<uint64_t>(period_s_ * 1e9);
}

DutyCycleReport DutyCycle::finish(uint64_t now_ns, const WorkClocks& final, const HitCost& hit_cost) const {
  DutyCycleReport r;
  r.enabled = true;
  r.chosen_by = chosen_by_;
  r.window_s = window_s_;
  r.period_s = period_s_;
  r.last_reason = reason_;
  r.windows = windows_ + (open_ ? 1 : 0);
  r.open_s = open_s_ + (open_ ? (now_ns - opened_ns_) / 1e9 : 0);
  r.total_s = (now_ns - start_ns_) / 1e9;
  r.windows_by_process = windows_seen_;
  for (const auto& [pid, reading] : final) {
    // A process gone keeps the user CPU of its last reading, and the hits
    // of that reading to go with it.
    WorkClock c = reading;
    if (c.user_cpu_s < 0)
      if (auto l = last_.find(pid); l != last_.end()) {
        c.user_cpu_s = l->second.user_cpu_s;
        c.hits = l->second.hits;
        c.cpu_s = l->second.cpu_s;
        c.user_ticks = l->second.user_ticks;
      }
    WorkClock in{};
    if (auto s = in_windows_.find(pid); s != in_windows_.end()) in = s->second;
    in.user_cpu_s = std::max(0.0, in.user_cpu_s);
    if (open_) {
      auto o = at_open_.find(pid);
      const uint64_t frees_open = o == at_open_.end() ? 0 : o->second.frees;
      in.frees += c.frees >= frees_open ? c.frees - frees_open : 0;
      add_moved(in, at_open_, pid, c);
    }
    WorkClock total{c.frees, 0, 0};
    add_moved(total, first_, pid, c);
    ClockSums sums{in.frees, total.frees, in.user_cpu_s, total.user_cpu_s, in.hits, total.hits,
                   std::max(0.0, in.cpu_s), std::max(0.0, total.cpu_s), in.user_ticks, total.user_ticks};
    sums.frees_exact = !user_cpu_only_;
    r.coverage[pid] = coverage_of(sums, hit_cost);
  }
  return r;
}

}  // namespace memscope
