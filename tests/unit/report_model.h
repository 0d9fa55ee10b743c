// A report built in memory, as the run loop's assemble_report leaves one,
// for the exporters' tests: two processes; inlined frames, code no symbol
// names, a leak site --top left out of the sites, a site whose stack was
// not recorded, and estimates that are not whole numbers.
#pragma once
#include "report/report.h"
#include "sampling/config_history.h"

namespace memscope::test {

// `history` must outlive the report (Report::sampling points at it).
Report profile_model(ConfigHistory& history);

// A site of `pid` with `frames`, its estimates in the order the report
// gives them.
SiteReport model_site(uint32_t pid, uint32_t id, std::vector<Frame> frames, double count, double bytes,
                      double live_count, double live_bytes);

}  // namespace memscope::test
