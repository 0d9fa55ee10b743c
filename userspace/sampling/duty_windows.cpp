#include "sampling/duty_windows.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "common/clock.h"
#include "common/terminal_safe.h"
#include "targets/process.h"

namespace memscope {

std::unique_ptr<DutyWindows> DutyWindows::make(const DutySettings& s, const ProbeCost& cost, uint64_t start_ns) {
  const bool adaptive = s.overhead_budget > 0 && s.overhead_window_s > 0;
  if (s.window_s <= 0 && !adaptive) return nullptr;
  return std::unique_ptr<DutyWindows>(new DutyWindows(s, cost, start_ns));
}

DutyWindows::DutyWindows(const DutySettings& s, const ProbeCost& cost, uint64_t start_ns)
    : settings_(s),
      start_ns_(start_ns),
      cycle_(s.window_s > 0 ? s.window_s : s.overhead_window_s, s.window_s > 0 ? s.period_s : s.overhead_window_s,
             s.window_s > 0 ? "--duty-cycle" : "--max-overhead", start_ns) {
  // At least one window a minute, so that a workload's changes show.
  if (s.window_s <= 0)
    planner_ = std::make_unique<DutyPlanner>(s.overhead_budget, cost.per_hit_ns, cost.per_record_ns,
                                             s.overhead_window_s / 60.0);
}

void DutyWindows::start(ControlPort& port, const std::vector<pid_t>& targets) {
  port.split_windowed();
  WorkClocks before;
  for (pid_t pid : targets) before[pid] = {0, process_user_cpu_seconds(pid), 0, process_cpu_seconds(pid)};
  cycle_.opened(start_ns_, before);
  // The planner's first sample runs from here: without this reading the
  // first control interval measured nothing, the windows came an interval
  // late, and the rate optimizer meanwhile dropped the first window's rates
  // to their minimum (a site's estimate then rested on a handful of records).
  at_change_ = read(port);
  for (pid_t pid : targets) {
    const double cpu = process_cpu_seconds(pid);
    if (cpu >= 0) at_change_.cpu_s.try_emplace(pid, cpu);
  }
}

void DutyWindows::closed(uint64_t now, const std::map<pid_t, WindowDelta>& moved) const {
  if (window_closed_) window_closed_(now, moved);
}

DutyWindows::Reading DutyWindows::read(const ControlPort& port) {
  const auto per = port.per_process();
  const ExactCounts all = port.totals();
  Reading r;
  for (const auto& [pid, c] : per) {
    r.clocks[pid] = {c.exact.free_calls(), process_user_cpu_seconds(pid), c.hits(), process_cpu_seconds(pid)};
    r.hits[pid] = c.hits();
  }
  for (pid_t pid : port.live_pids()) {
    r.clocks.try_emplace(pid, WorkClock{0, process_user_cpu_seconds(pid), 0, process_cpu_seconds(pid)});
    const double cpu = process_cpu_seconds(pid);
    if (cpu >= 0) r.cpu_s[pid] = cpu;
  }
  r.records = all.stats[MS_STAT_SAMPLED];
  r.release_calls = all.free_calls() + all.api_total(MS_API_REALLOC).calls + all.api_total(MS_API_REALLOCARRAY).calls;
  return r;
}

// Per process, over the processes read both times: one that came or went in
// between would otherwise bring or take its whole CPU history.
CostSample DutyWindows::between(const Reading& later, const Reading& earlier) {
  CostSample s;
  for (const auto& [pid, cpu] : later.cpu_s) {
    auto e = earlier.cpu_s.find(pid);
    if (e == earlier.cpu_s.end()) continue;
    s.cpu_s += std::max(0.0, cpu - e->second);
    auto h1 = later.hits.find(pid), h0 = earlier.hits.find(pid);
    const uint64_t a = h1 == later.hits.end() ? 0 : h1->second, b = h0 == earlier.hits.end() ? 0 : h0->second;
    s.hits += a >= b ? a - b : 0;
  }
  s.records = later.records >= earlier.records ? later.records - earlier.records : 0;
  s.release_calls = later.release_calls >= earlier.release_calls ? later.release_calls - earlier.release_calls : 0;
  return s;
}

// The clocks at the flag's change: read just before and just after it, the
// mean of the two, so that the reading's own time is split evenly.
WorkClocks DutyWindows::midpoint(const Reading& a, const Reading& b) {
  WorkClocks out = b.clocks;
  for (auto& [pid, c] : out) {
    auto o = a.clocks.find(pid);
    if (o == a.clocks.end()) continue;
    c.frees = (c.frees + o->second.frees) / 2;
    c.hits = (c.hits + o->second.hits) / 2;
    if (c.user_cpu_s >= 0 && o->second.user_cpu_s >= 0) c.user_cpu_s = (c.user_cpu_s + o->second.user_cpu_s) / 2;
    if (c.cpu_s >= 0 && o->second.cpu_s >= 0) c.cpu_s = (c.cpu_s + o->second.cpu_s) / 2;
  }
  return out;
}

uint64_t DutyWindows::next_wake(uint64_t now, const ControlPort& port) const {
  const uint64_t due = cycle_.next_change_ns();
  if (!due) return 0;
  // A window due while the last one's probes are still going away (classic
  // probes: one grace period each): look again shortly.
  if (!cycle_.open() && port.window_closing()) return std::max(due, now + 20'000'000);
  return due;
}

DutyChange DutyWindows::step(uint64_t now, ControlPort& port, bool control_due) {
  bool changed = false;
  const uint64_t due = cycle_.next_change_ns();
  if (due && now >= due && (cycle_.open() || !port.window_closing())) {
    if (cycle_.open()) {
      Reading before = read(port);
      port.count_window(false);
      Reading after = read(port);
      closed(now, cycle_.closed(now, midpoint(before, after)));
      port.detach_window();
      cycled_ = true;
      if (planner_) planner_->window(between(after, at_change_));
      at_change_ = after;
    } else {
      Reading gap_end = read(port);
      if (planner_) planner_->between(between(gap_end, at_change_));
      const uint64_t t0 = monotonic_ns();
      std::set<pid_t> live;
      for (pid_t pid : port.live_pids()) live.insert(pid);
      for (const auto& w : port.attach_window(live))
        fprintf(stderr, "memscope-bpf: warning: left out of this window: %s\n", terminal_safe(w).c_str());
      if (settings_.verbose)
        fprintf(stderr, "memscope-bpf: [%.1fs] window opened (probes attached in %.1f ms)\n", (t0 - start_ns_) / 1e9,
                (monotonic_ns() - t0) / 1e6);
      Reading before = read(port);
      port.count_window(true);
      Reading after = read(port);
      cycle_.opened(monotonic_ns(), midpoint(before, after));
      at_change_ = after;
    }
    changed = true;
  } else if (planner_ && cycle_.open() && cycle_.fraction() >= 1.0 && control_due) {
    // Not cycling: the last control interval is a window of its own.
    Reading r = read(port);
    planner_->window(between(r, at_change_));
    at_change_ = r;
    changed = true;
  }
  return changed && planner_ ? replan(now) : DutyChange{};
}

DutyChange DutyWindows::replan(uint64_t now) {
  DutyChange change;
  auto f = planner_->fraction();
  const double current = cycle_.fraction();
  if (!f || std::fabs(*f - current) <= 0.1 * current) return change;
  char why[200];
  snprintf(why, sizeof why,
           "--max-overhead: probes cost %.1f%% of the targets' CPU with the allocating probes attached, %.1f%% without",
           planner_->in_window() * 100, planner_->between() * 100);
  change.why = why;
  change.engaged = current >= 1.0 && *f < 1.0;
  change.disengaged = current < 1.0 && *f >= 1.0;
  cycle_.set_fraction(*f, why);
  if (*f < 1.0)
    fprintf(stderr, "memscope-bpf: [%.1fs] windows of %.2g s every %.3g s (%s)\n", (now - start_ns_) / 1e9,
            settings_.overhead_window_s, settings_.overhead_window_s / *f, why);
  else fprintf(stderr, "memscope-bpf: [%.1fs] allocating probes stay attached (%s)\n", (now - start_ns_) / 1e9, why);
  return change;
}

void DutyWindows::end(uint64_t now, ControlPort& port) {
  if (!cycle_.open()) return;
  Reading before = read(port);
  port.count_window(false);
  Reading after = read(port);
  closed(now, cycle_.closed(now, midpoint(before, after)));
}

DutyCycleReport DutyWindows::finish(uint64_t now, const WorkClocks& final, const HitCost& hit_cost) const {
  DutyCycleReport r = cycle_.finish(now, final, hit_cost);
  // --max-overhead that never needed windows: the probes stayed, nothing to scale.
  if (!cycled_ && planner_) r = DutyCycleReport{};
  return r;
}

}  // namespace memscope
