// The report as plain data: what the exporters (JSON, text) read. Numbers
// under `exact` are counted by the kernel for every call; numbers under
// `estimated` are weighted sums over sampled records.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "aggregate/agent_cost.h"
#include "aggregate/aggregator.h"
#include "aggregate/kernel_counters.h"
#include "aggregate/process_counters.h"
#include "sampling/config_history.h"
#include "sampling/duty_cycle.h"
#include "sampling/optimizer.h"
#include "symbolize/frame.h"
#include "memscope/processes.h"
#include "targets/allocator.h"
#include "targets/traced_process.h"

namespace memscope {

struct SiteReport {
  uint32_t pid = 0;
  uint32_t site_id = 0;
  std::vector<Frame> frames;
  SiteStats estimated;
  SiteLifetimes lifetimes;       // its ended blocks by lifetime, estimated as `estimated`
  double oldest_live_age_s = 0;  // among its sampled blocks still live
  bool truncated_stack = false;
  std::string truncated_reason;  // why truncated_stack: "not_stored", "no_table", "no_cfi", ...
  bool stack_depth_limited = false;
};

// A traced process: what it is (the live model, as tracing left it), and
// its own share of everything the report holds (processes[] in the JSON,
// with targets[] its identity).
struct TargetReport : TracedProcess {
  TargetReport() = default;
  explicit TargetReport(TracedProcess traced) : TracedProcess(std::move(traced)) {}
  SiteStats estimated;                       // the sum of its sites
  ExactCounts exact;                         // its own calls, counted by the kernel per process
  uint64_t entry_hits = 0, return_hits = 0;  // traps it took, counted by the kernel
  ms_proc_overflow uncounted{};              // lost to full per-process tables (still in the totals)
  std::vector<SiteReport> sites, leaks;      // its own, --top applied per process
  std::vector<SiteReport> temporaries;       // its own, as Report's
  size_t total_sites = 0, total_leak_sites = 0, total_temporary_sites = 0;
};

struct Report {
  std::vector<TargetReport> targets;
  double duration_s = 0;
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC when tracing started: times in the report are from it
  ExactCounts exact;
  std::array<uint64_t, MS_PROC_STAT_COUNT> process_stats{};  // the per-process bookkeeping's health
  size_t processes_not_counted = 0;  // processes that lost calls or hits to full per-process tables
  const ConfigHistory* sampling = nullptr;
  RecordCounters records;
  std::vector<AttachedProbe> probes;
  std::vector<SiteReport> sites;  // by estimated bytes, largest first
  std::vector<SiteReport> leaks;  // by estimated live bytes, largest first
  // Sites with blocks freed within 1 ms (lifetime_report.h), by their
  // estimated number, largest first.
  std::vector<SiteReport> temporaries;
  std::vector<ThreadStats> threads;  // by estimated bytes, largest first
  // Share of the estimated bytes held by sites whose 95% interval is within
  // 5% of their estimate.
  double quality_bytes_within_5pct = 1.0;
  size_t total_sites = 0;
  size_t total_leak_sites = 0;
  size_t total_temporary_sites = 0;
  std::string mechanism = "uprobe+uretprobe";
  OptimizerBudget budget;  // zeros: the optimizer did not run
  ProbeCost probe_cost;    // measured when --max-overhead asked for it
  AgentCost agent;         // what the run cost the agent, and the targets' CPU meanwhile
  DutyCycleReport duty;    // enabled: allocating probes attached for windows only
};

}  // namespace memscope
