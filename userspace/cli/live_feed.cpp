// Fills the --live view each interval: rates from the difference with the
// last interval (exact counters, estimated sites), drawn on stderr when it
// is a terminal (otherwise the plain interval line is printed instead).
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/trace_steps.h"
#include "targets/process.h"

namespace memscope {

namespace {

constexpr size_t kLiveSites = 15;

void keep_top(std::vector<LiveSite>& sites, double LiveSite::*key) {
  const size_t n = std::min(sites.size(), kLiveSites);
  std::partial_sort(sites.begin(), sites.begin() + n, sites.end(),
                    [key](const LiveSite& a, const LiveSite& b) { return a.*key > b.*key; });
  sites.resize(n);
}

}  // namespace

void TraceRun::leave_live_screen() {
  if (!live_screen_) return;
  fputs(kLeaveLiveScreen, stderr);
  fflush(stderr);
  live_screen_ = false;
}

void TraceRun::draw_live(uint64_t now) {
  const double dt = (now - last_interval_) / 1e9;
  LiveFrame f;
  f.elapsed_s = elapsed_s(now);
  f.interval_s = dt;
  const ExactCounts counts = probes_->maps().exact_counts();
  const ExactCounts d = counts - last_counts_;
  f.calls = counts.allocation_calls();
  f.bytes = counts.allocation_bytes();
  f.calls_per_s = dt > 0 ? d.allocation_calls() / dt : 0;
  f.bytes_per_s = dt > 0 ? d.allocation_bytes() / dt : 0;
  f.frees_per_s = dt > 0 ? d.free_calls() / dt : 0;
  f.records = counts.stats[MS_STAT_SAMPLED];
  f.dropped = counts.stats[MS_STAT_DROPPED];
  f.dropped_last = d.stats[MS_STAT_DROPPED];

  std::map<uint32_t, SiteStats> sites;
  {
    std::lock_guard<std::mutex> g(lock_);
    for (const auto& [id, s] : aggregator_->sites()) sites.emplace(id, s);
    f.rates = history_.current().rate;
  }
  SiteStacks stacks;
  for (const auto& [id, s] : sites) {
    f.live_bytes += s.live_bytes;
    const SiteStats& before = live_last_sites_[id];
    LiveSite x{site_name(id, s.tgid, stacks), s.tgid, dt > 0 ? (s.bytes - before.bytes) / dt : 0,
               dt > 0 ? (s.count - before.count) / dt : 0, s.live_bytes};
    if (x.bytes_per_s > 0) f.by_rate.push_back(x);
    if (x.live_bytes > 0) f.by_live.push_back(std::move(x));
  }
  live_last_sites_ = std::move(sites);
  keep_top(f.by_rate, &LiveSite::bytes_per_s);
  keep_top(f.by_live, &LiveSite::live_bytes);

  const AgentCpuMark agent = agent_cpu_now();
  f.agent_cpu_pct =
      dt > 0 ? 100 * (agent.user_s + agent.system_s - live_last_agent_.user_s - live_last_agent_.system_s) / dt : 0;
  live_last_agent_ = agent;
  uint64_t hits = 0;
  double targets_cpu = 0;
  for (const auto& [pid, c] : probes_->maps().process_counts(tracker_->slots())) hits += c.hits();
  for (pid_t pid : tracker_->live_pids()) targets_cpu += std::max(0.0, process_cpu_seconds(pid));
  f.processes = tracker_->live_pids().size();
  const double cpu_d = targets_cpu - live_last_targets_cpu_;
  if (probe_cost_.per_hit_ns > 0 && cpu_d > 0 && hits >= live_last_hits_)
    f.probe_added_pct = 100 * (hits - live_last_hits_) * probe_cost_.per_hit_ns / 1e9 / cpu_d;
  live_last_hits_ = hits;
  live_last_targets_cpu_ = targets_cpu;

  winsize ws{};
  const int rows = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row ? ws.ws_row : 24;
  const int cols = ws.ws_col ? ws.ws_col : 80;
  if (!live_screen_) {
    fputs(kEnterLiveScreen, stderr);
    live_screen_ = true;
  }
  fputs(render_live(f, rows, cols).c_str(), stderr);
  fflush(stderr);
  last_counts_ = counts;
  last_interval_ = now;
  next_interval_ += interval_ns_;
}

}  // namespace memscope
