// Fills the metrics endpoint's snapshot once a second while tracing: what a
// Prometheus server scraping --metrics-addr sees.
#include <algorithm>

#include "aggregate/agent_cost.h"
#include "cli/trace_steps.h"
#include "report/metrics_endpoint.h"

namespace memscope {

namespace {

// Series per label set are bounded: the processes with the most calls, the
// rest summed under pid="other"; the sites with the most bytes.
constexpr size_t kMetricsProcesses = 50;
constexpr size_t kMetricsSites = 20;

void keep_top_processes(std::vector<ProcessMetrics>& ps) {
  if (ps.size() <= kMetricsProcesses) return;
  std::sort(ps.begin(), ps.end(), [](const auto& a, const auto& b) { return a.allocations > b.allocations; });
  ProcessMetrics other;
  for (size_t i = kMetricsProcesses; i < ps.size(); ++i) {
    other.allocations += ps[i].allocations;
    other.allocated_bytes += ps[i].allocated_bytes;
    other.frees += ps[i].frees;
    other.probe_hits += ps[i].probe_hits;
    other.live_bytes += ps[i].live_bytes;
  }
  ps.resize(kMetricsProcesses);
  ps.push_back(other);
}

}  // namespace

// Its innermost frame and caller, symbolized once; `stacks` is read from the kernel the
// first time a site is new.
const std::string& TraceRun::site_name(uint32_t id, uint32_t tgid, SiteStacks& stacks) {
  auto named = site_names_.find(id);
  if (named != site_names_.end()) return named->second;
  if (stacks.empty()) stacks = probes_->maps().site_stacks();
  std::string name = "[unknown]";
  if (auto it = stacks.find(id); it != stacks.end() && !it->second.frames.empty()) {
    const auto& ips = it->second.frames;
    const auto frames = symbolizer_.symbolize(static_cast<pid_t>(tgid), ips.front());
    if (!frames.empty()) name = frames.front().function + " (" + frames.front().module + ")";
    // Its caller too: many sites share the function that allocates.
    if (ips.size() > 1)
      if (const auto callers = symbolizer_.symbolize(static_cast<pid_t>(tgid), ips[1]); !callers.empty())
        name += " <- " + callers.front().function;
  }
  return site_names_.emplace(id, name).first->second;
}

void TraceRun::serve_metrics() {
  if (!opt_.metrics_addr.empty()) {
    metrics_ = std::make_unique<MetricsEndpoint>(opt_.metrics_addr);
    fprintf(stderr, "memscope-bpf: metrics at http://%s/metrics\n", metrics_listen_address(opt_.metrics_addr).c_str());
  }
}

std::vector<ProcessMetrics> TraceRun::process_metrics() {
  const auto counts = with_retired(probes_->maps().process_counts(tracker_->slots()), tracker_->retired());
  const auto live = live_bytes_by_process();
  std::vector<ProcessMetrics> out;
  for (const auto& t : tracker_->targets()) {
    ProcessMetrics p;
    p.pid = t.process.pid;
    p.comm = t.process.comm;
    if (auto it = counts.find(p.pid); it != counts.end()) {
      p.allocations = it->second.exact.allocation_calls();
      p.allocated_bytes = it->second.exact.allocation_bytes();
      p.frees = it->second.exact.free_calls();
      p.probe_hits = it->second.hits();
    }
    if (auto it = live.find(static_cast<uint32_t>(p.pid)); it != live.end()) p.live_bytes = it->second;
    out.push_back(std::move(p));
  }
  keep_top_processes(out);
  return out;
}

// The top sites by estimated bytes, each named once by its innermost frame.
std::vector<SiteMetrics> TraceRun::site_metrics() {
  std::vector<std::pair<uint32_t, SiteStats>> top;
  {
    std::lock_guard<std::mutex> g(lock_);
    for (const auto& [id, s] : aggregator_->sites()) top.emplace_back(id, s);
  }
  const size_t n = std::min(top.size(), kMetricsSites);
  std::partial_sort(top.begin(), top.begin() + n, top.end(),
                    [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  top.resize(n);
  SiteStacks stacks;
  std::vector<SiteMetrics> out;
  for (const auto& [id, s] : top)
    out.push_back({static_cast<pid_t>(s.tgid), id, site_name(id, s.tgid, stacks), s.bytes, s.live_bytes});
  return out;
}

void TraceRun::publish_metrics() {
  MetricsSnapshot m;
  m.processes = process_metrics();
  m.sites = site_metrics();
  const ExactCounts counts = probes_->maps().exact_counts();
  m.records = counts.stats[MS_STAT_SAMPLED];
  m.dropped = counts.stats[MS_STAT_DROPPED];
  {
    std::lock_guard<std::mutex> g(lock_);
    m.rates = history_.current().rate;
  }
  const AgentCpuMark now = agent_cpu_now();
  m.agent_cpu_s = now.user_s + now.system_s - agent_start_.user_s - agent_start_.system_s;
  m.probe_ns_per_hit = probe_cost_.per_hit_ns;
  metrics_->publish(std::move(m));
}

}  // namespace memscope
