// Human summaries on stderr: one line per interval while tracing, and a
// short digest of the final report.
#pragma once
#include <cstdio>

#include "aggregate/kernel_counters.h"
#include "report/report.h"
#include "sampling/tier_config.h"

namespace memscope {

std::string human_bytes(double bytes);

void print_interval(FILE* out, double elapsed_s, double interval_s, const ExactCounts& delta, double est_live_bytes,
                    uint64_t records_total, const TierConfig& rates);

// One line for each rate change the optimizer makes.
void print_rate_change(FILE* out, double elapsed_s, const TierConfig& from, const TierConfig& to,
                       const std::string& reason);

void print_final(FILE* out, const Report& report, size_t top);

}  // namespace memscope
