// Human summaries on stderr: one line per interval while tracing, and a
// short digest of the final report.
#pragma once
#include <cstdio>

#include "aggregate/kernel_counters.h"
#include "report/report.h"

namespace memscope {

std::string human_bytes(double bytes);

void print_interval(FILE* out, double elapsed_s, double interval_s, const ExactCounts& delta,
                    double est_live_bytes, uint64_t records_total);

void print_final(FILE* out, const Report& report, size_t top);

}  // namespace memscope
