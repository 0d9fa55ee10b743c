// Command-line options (CLI11) as a plain struct.
#pragma once
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "attach/probe_settings.h"
#include "follow/follow_options.h"
#include "report/output_formats.h"
#include "targets/allocator.h"
#include "sampling/tier_config.h"

namespace memscope {

struct Options {
  std::vector<pid_t> pids;
  std::vector<std::string> command;                                       // after "--"
  double duration_s = 0;                                                  // 0: until Ctrl-C or the targets exit
  double interval_s = 0;                                                  // 0: no interval summaries
  std::vector<OutputFile> outputs{{kDefaultOutput, OutputFormat::json}};  // -o, --format
  FoldedValue folded_value = FoldedValue::alloc;
  size_t top = 20;  // 0: all
  TierConfig tiers;
  double max_events_per_s = 0;  // 0: no budget
  double max_overhead_pct = 0;  // 0: no budget
  double max_sampled_pct = 0;   // 0: no budget
  double control_interval_s = 1.0;
  // Duty cycle: the allocating probes attached WINDOW seconds in every
  // PERIOD (--duty-cycle), or windows of duty_window_s whose period
  // --max-overhead chooses (--duty-window; 0 turns that off).
  double duty_window_s = 0, duty_period_s = 0;
  double max_overhead_window_s = -1;  // < 0: chosen (sampling/duty_cycle.h WindowLength)
  // --window-releases: under --max-overhead the release probes are windowed
  // too; without it they stay attached (every sampled block's end seen).
  bool window_releases = false;
  BpfLimits limits;
  ProbeMode probe_mode = ProbeMode::Auto;
  PlacementMode placement = PlacementMode::Smart;
  bool verbose = false;
  FollowOptions follow;  // --comm, --follow-children, --all (placement and verbose copied in)
  bool following() const { return follow.all || follow.children || !follow.comms.empty(); }
  bool syscall_counts = false;  // --syscall-counts: mmap/munmap/brk counters (they slow every syscall on the host)
  bool live = false;            // --live: a top-like view on a terminal each interval (default 1 s)
  std::string metrics_addr;     // --metrics-addr: serve Prometheus metrics there while tracing (empty: off)
};

// Parses argv. On --help/--version prints and returns the exit code in
// `exit_code`; on a bad option prints one line and sets exit_code 2.
std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

}  // namespace memscope
