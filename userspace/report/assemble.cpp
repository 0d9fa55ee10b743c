#include "report/assemble.h"

#include <set>

#include "common/error.h"
#include "targets/process.h"

namespace memscope {
namespace {

// Processes that called the allocator but were never listed (a fork whose
// event was lost): in the report all the same, with what is still known of
// them.
void add_unlisted(std::vector<TargetReport>& targets, const std::map<pid_t, ProcessCounts>& counts) {
  std::set<pid_t> listed;
  for (const auto& t : targets) listed.insert(t.process.pid);
  for (const auto& [pid, c] : counts) {
    if (listed.count(pid) || c.hits() == 0) continue;
    TargetReport t;
    try {
      t.process = read_process(pid);
    } catch (const Error&) {
      t.process.pid = t.process.ns_pid = pid;
      t.process.comm = "[exited]";
      t.exited = true;
    }
    targets.push_back(std::move(t));
  }
}

// Each process's own exact counts, hits and losses.
void add_process_counts(TargetReport& t, const KernelFinal& kernel) {
  if (auto it = kernel.per_process.find(t.process.pid); it != kernel.per_process.end()) {
    t.exact = it->second.exact;
    t.entry_hits = it->second.entry_hits;
    t.return_hits = it->second.return_hits;
  }
  if (auto it = kernel.overflow.find(t.process.pid); it != kernel.overflow.end()) t.uncounted = it->second;
}

}  // namespace

std::vector<TargetReport> report_targets(std::vector<TracedProcess> traced, const KernelFinal& kernel,
                                         bool add_unlisted_too) {
  std::vector<TargetReport> targets;
  for (auto& t : traced) targets.emplace_back(std::move(t));
  if (add_unlisted_too) add_unlisted(targets, kernel.per_process);
  for (auto& t : targets) add_process_counts(t, kernel);
  return targets;
}

Report assemble_report(RunSummary run, std::vector<TargetReport> targets, KernelFinal kernel,
                       const Aggregator& aggregator, Symbolizer& symbolizer) {
  Report report;
  report.targets = std::move(targets);
  report.exact = kernel.exact;
  report.process_stats = kernel.process_stats;
  report.processes_not_counted = kernel.overflow.size();
  report.probes = std::move(run.probes);
  report.mechanism = run.mechanism;
  report.budget = run.budget;
  report.duty = std::move(run.duty);
  report.probe_cost = run.probe_cost;
  report.duration_s = run.duration_s;
  report.start_ns = run.start_ns;
  report.sampling = run.sampling;
  report.records = aggregator.counters();
  RankOptions rank{run.top, run.end_ns, {}};
  for (const auto& [pid, c] : report.duty.coverage) {
    if (c.value <= 0) continue;
    rank.scale[static_cast<uint32_t>(pid)] = 1.0 / c.value;
    if (c.choice) rank.window_clock[static_cast<uint32_t>(pid)] = *c.choice;
  }
  for (const auto& [pid, c] : report.duty.release_coverage)
    if (c.value > 0) rank.release_coverage[static_cast<uint32_t>(pid)] = c.value;
  add_sites(report, aggregator, kernel.stacks, symbolizer, rank);
  return report;
}

}  // namespace memscope
