// Puts the stages' results together into a Report: sites ranked by
// estimated bytes, leaks (sites with sampled blocks still live) ranked by
// estimated live bytes, frames symbolized.
#pragma once
#include <cstdint>
#include <map>

#include "aggregate/aggregator.h"
#include "aggregate/kernel_sites.h"
#include "report/report.h"
#include "symbolize/symbolizer.h"

namespace memscope {

struct RankOptions {
  size_t top = 0;            // 0: every site
  uint64_t end_time_ns = 0;  // CLOCK_MONOTONIC at the end, for ages
  // Per process: what its sites' estimates are multiplied by (1 / the duty
  // cycle's coverage); 1 when absent.
  std::map<uint32_t, double> scale;
  // Per process under a duty cycle: the clock its coverage was measured on,
  // for the sites' between-window variance; absent: the records' alone.
  std::map<uint32_t, ClockChoice> window_clock;
  // Per process whose release probes were windowed: the release windows'
  // coverage c_r; its live figures are then estimated from the frees seen
  // (aggregate/live_estimate.h) and its freed lifetimes weighted by 1 / c_r.
  std::map<uint32_t, double> release_coverage;
};

void add_sites(Report& report, const Aggregator& aggregator, const SiteStacks& stacks, Symbolizer& symbolizer,
               const RankOptions& options);

}  // namespace memscope
