#include "sampling/duty_windows.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include <unistd.h>

#include "common/clock.h"
#include "common/terminal_safe.h"
#include "targets/process.h"

namespace memscope {

std::unique_ptr<DutyWindows> DutyWindows::make(const DutySettings& s, const ProbeCost& cost, uint64_t start_ns) {
  const bool adaptive = s.overhead_budget > 0 && s.overhead_window_s != 0;
  if (s.window_s <= 0 && !adaptive) return nullptr;
  return std::unique_ptr<DutyWindows>(new DutyWindows(s, cost, start_ns));
}

namespace {

WindowLength window_length(const DutySettings& s) {
  WindowLength w;
  if (s.overhead_window_s > 0) w.fixed_s = s.overhead_window_s;
  w.min_s = std::min(s.min_window_s, w.max_s);
  return w;
}

}  // namespace

DutyWindows::DutyWindows(const DutySettings& s, const ProbeCost& cost, uint64_t start_ns)
    : settings_(s),
      start_ns_(start_ns),
      cycle_(s.window_s > 0 ? s.window_s : window_length(s).for_fraction(1.0),
             s.window_s > 0 ? s.period_s : window_length(s).for_fraction(1.0),
             s.window_s > 0 ? "--duty-cycle" : "--max-overhead", start_ns) {
  // At least one window a minute, so that a workload's changes show.
  if (s.window_s <= 0) {
    const WindowLength length = window_length(s);
    cycle_.set_length(length);
    if (s.window_releases) {
      // The phases' source: seeded from the clock, so that no two runs
      // share a schedule.
      releases_ = std::make_unique<ReleaseSchedule>(monotonic_ns() ^ (static_cast<uint64_t>(getpid()) << 40));
      cycle_.use_user_cpu_clock();
    }
    planner_ = std::make_unique<DutyPlanner>(s.overhead_budget, cost.per_hit_ns, cost.per_record_ns,
                                             length.least_fraction(), releases_ != nullptr);
  }
}

void DutyWindows::start(ControlPort& port, const std::vector<pid_t>& targets) {
  port.split_windowed(releases_ != nullptr);
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
  if (releases_) releases_->opened(start_ns_, before);
}

void DutyWindows::closed(uint64_t now, const std::map<pid_t, WindowDelta>& moved) const {
  if (window_closed_) window_closed_(now, moved);
}

// -v: each process's clocks where a window opened or closed, whole (not
// deltas), for tools/accuracy/learned_hit_cost.py, which measures the
// coverage clocks window by window against the free clock.
void DutyWindows::log_clocks(uint64_t now, const char* what, const WorkClocks& clocks) const {
  if (!settings_.verbose) return;
  const uint64_t at = monotonic_ns();  // right after the flip the clocks were read around
  for (const auto& [pid, c] : clocks)
    fprintf(stderr,
            "memscope-bpf: [%.3fs] window %s: PID %d clocks frees %llu user_cpu_s %.3f hits %llu cpu_s %.3f "
            "user_ticks %llu monotonic_ns %llu\n",
            (now - start_ns_) / 1e9, what, pid, static_cast<unsigned long long>(c.frees), c.user_cpu_s,
            static_cast<unsigned long long>(c.hits), c.cpu_s, static_cast<unsigned long long>(c.user_ticks),
            static_cast<unsigned long long>(at));
}

WorkClocks DutyWindows::flip(ControlPort& port, ProbeWindow kind, bool on, Reading* after) {
  Reading before = read(port);
  port.count_window(kind, on);
  Reading r = read(port);
  WorkClocks mid = midpoint(before, r);
  if (after) *after = std::move(r);
  return mid;
}

// A release window due: opened (probes attached, then counted) or closed
// (counting stopped, then the probes taken down on their thread).
bool DutyWindows::step_releases(uint64_t now, ControlPort& port) {
  if (!releases_) return false;
  const uint64_t due = releases_->next_change_ns();
  if (!due || now < due) return false;
  if (releases_->open()) {
    releases_->closed(now, flip(port, ProbeWindow::releases, false, nullptr));
    port.detach_window(ProbeWindow::releases);
    return true;
  }
  if (port.window_closing()) return false;  // the last window's probes still going
  std::set<pid_t> live;
  for (pid_t pid : port.live_pids()) live.insert(pid);
  for (const auto& w : port.attach_window(ProbeWindow::releases, live))
    fprintf(stderr, "memscope-bpf: warning: left out of this release window: %s\n", terminal_safe(w).c_str());
  releases_->opened(monotonic_ns(), flip(port, ProbeWindow::releases, true, nullptr));
  return true;
}

DutyWindows::Reading DutyWindows::read(const ControlPort& port) {
  const auto per = port.per_process();
  const ExactCounts all = port.totals();
  Reading r;
  for (const auto& [pid, c] : per) {
    r.clocks[pid] = {c.exact.free_calls(), process_user_cpu_seconds(pid), c.hits(), process_cpu_seconds(pid),
                     c.user_ticks};
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
    c.user_ticks = (c.user_ticks + o->second.user_ticks) / 2;
    if (c.user_cpu_s >= 0 && o->second.user_cpu_s >= 0) c.user_cpu_s = (c.user_cpu_s + o->second.user_cpu_s) / 2;
    if (c.cpu_s >= 0 && o->second.cpu_s >= 0) c.cpu_s = (c.cpu_s + o->second.cpu_s) / 2;
  }
  return out;
}

uint64_t DutyWindows::next_wake(uint64_t now, const ControlPort& port) const {
  uint64_t due = cycle_.next_change_ns();
  if (const uint64_t r = releases_ ? releases_->next_change_ns() : 0; r && (!due || r < due)) {
    if (!releases_->open() && port.window_closing()) return std::max(r, now + 20'000'000);
    due = r;
  }
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
      Reading after;
      const WorkClocks at_close = flip(port, ProbeWindow::allocations, false, &after);
      log_clocks(now, "closed", at_close);
      closed(now, cycle_.closed(now, at_close));
      port.detach_window(ProbeWindow::allocations);
      cycled_ = true;
      // With release windows of their own, an allocation window holds the
      // release probes only part of the time: not what the planner needs.
      if (planner_ && !releases_) planner_->window(between(after, at_change_));
      if (planner_ && releases_) {
        // A whole period at least since the last reading: its cost over
        // the share of time the windows of both kinds were open in it.
        const double open = cycle_.open_s(now) + releases_->open_s(now), span = (now - at_period_ns_) / 1e9;
        if (!have_period_ || span >= 0.9 * cycle_.period_s()) {
          if (have_period_ && span > 0) planner_->period(between(after, at_period_), (open - at_period_open_s_) / (2 * span));
          at_period_ = after;
          at_period_ns_ = now;
          at_period_open_s_ = open;
          have_period_ = true;
        }
      }
      at_change_ = after;
    } else {
      Reading gap_end = read(port);
      // With release windows a gap holds some of them: not the release
      // probes alone; the whole periods tell the planner instead.
      if (planner_ && !releases_) planner_->between(between(gap_end, at_change_));
      const uint64_t t0 = monotonic_ns();
      std::set<pid_t> live;
      for (pid_t pid : port.live_pids()) live.insert(pid);
      for (const auto& w : port.attach_window(ProbeWindow::allocations, live))
        fprintf(stderr, "memscope-bpf: warning: left out of this window: %s\n", terminal_safe(w).c_str());
      if (settings_.verbose)
        fprintf(stderr, "memscope-bpf: [%.1fs] window opened (probes attached in %.1f ms)\n", (t0 - start_ns_) / 1e9,
                (monotonic_ns() - t0) / 1e6);
      Reading after;
      const WorkClocks at_open = flip(port, ProbeWindow::allocations, true, &after);
      log_clocks(monotonic_ns(), "opened", at_open);
      cycle_.opened(monotonic_ns(), at_open);
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
  step_releases(now, port);
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
  if (releases_) releases_->plan(now, cycle_.window_s(), cycle_.window_s() / *f);
  have_period_ = false;  // a period measured across the change would mix two shares
  if (*f < 1.0)
    fprintf(stderr, "memscope-bpf: [%.1fs] windows of %.2g s every %.3g s (%s)\n", (now - start_ns_) / 1e9,
            cycle_.window_s(), cycle_.period_s(), why);
  else fprintf(stderr, "memscope-bpf: [%.1fs] allocating probes stay attached (%s)\n", (now - start_ns_) / 1e9, why);
  return change;
}

void DutyWindows::end(uint64_t now, ControlPort& port) {
  if (releases_ && releases_->open()) releases_->closed(now, flip(port, ProbeWindow::releases, false, nullptr));
  if (cycle_.open()) closed(now, cycle_.closed(now, flip(port, ProbeWindow::allocations, false, nullptr)));
}

DutyCycleReport DutyWindows::finish(uint64_t now, const WorkClocks& final, const HitCost& hit_cost) const {
  DutyCycleReport r = cycle_.finish(now, final, hit_cost);
  // --max-overhead that never needed windows: the probes stayed, nothing to scale.
  if (!cycled_ && planner_) return DutyCycleReport{};
  if (!releases_) return r;
  // Both coverages on the same clock: user CPU in windows of each kind
  // (less what the traps added) over user CPU traced.
  const ReleaseSchedule::Summary s = releases_->finish(now, final);
  r.releases_windowed = true;
  r.release_windows = s.windows;
  r.release_open_s = s.open_s;
  for (const auto& [pid, c] : r.coverage) {
    ClockSums sums;
    auto in = s.user_cpu_in_windows_s.find(pid);
    auto hits = s.hits_in_windows.find(pid);
    sums.user_cpu_in_windows_s = in == s.user_cpu_in_windows_s.end() ? 0.0 : in->second;
    sums.user_cpu_total_s = c.sums.user_cpu_total_s;
    sums.hits_in_windows = hits == s.hits_in_windows.end() ? 0 : hits->second;
    sums.hits_total = c.sums.hits_total;
    auto ticks = s.user_ticks_in_windows.find(pid);
    sums.user_ticks_in_windows = ticks == s.user_ticks_in_windows.end() ? 0 : ticks->second;
    sums.user_ticks_total = c.sums.user_ticks_total;
    sums.frees_exact = false;
    r.release_coverage[pid] = coverage_of(sums, hit_cost);
  }
  return r;
}

}  // namespace memscope
