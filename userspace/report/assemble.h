// The report, put together once at the end of a run from what the stages
// left: the traced processes (the live model), the kernel's final counters
// and stacks, the control loop's history and the run's own cost.
#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "aggregate/kernel_sites.h"
#include "report/report.h"
#include "report/report_builder.h"
#include "symbolize/symbolizer.h"

namespace memscope {

// What the kernel held at the end, read after the probes were detached.
struct KernelFinal {
  ExactCounts exact;
  std::map<pid_t, ProcessCounts> per_process;  // with the processes retired during the run
  std::array<uint64_t, MS_PROC_STAT_COUNT> process_stats{};
  std::map<pid_t, ms_proc_overflow> overflow;
  SiteStacks stacks;
};

struct RunSummary {
  std::vector<AttachedProbe> probes;
  std::string mechanism;
  OptimizerBudget budget;
  ProbeCost probe_cost;
  DutyCycleReport duty;
  double duration_s = 0;
  const ConfigHistory* sampling = nullptr;
  size_t top = 0;
  uint64_t start_ns = 0;  // CLOCK_MONOTONIC at the start, for the times of events
  uint64_t end_ns = 0;    // CLOCK_MONOTONIC at the end, for ages
};

// The traced processes turned into the report's, with their own counts;
// `add_unlisted` (--all, inherited probes): processes that called the
// allocator but were never listed are reported all the same.
std::vector<TargetReport> report_targets(std::vector<TracedProcess> traced, const KernelFinal& kernel,
                                         bool add_unlisted);

// `symbolizer` must hold a snapshot of every target that had one.
Report assemble_report(RunSummary run, std::vector<TargetReport> targets, KernelFinal kernel,
                       const Aggregator& aggregator, Symbolizer& symbolizer);

}  // namespace memscope
