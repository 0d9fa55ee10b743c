// What the end-to-end tests share: paths of the binaries, the workload's
// ground truth, and checks that nothing stays attached.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.h"

namespace memscope::test {

inline const std::string kAgent = MEMSCOPE_BIN;
inline const std::string kWorkload = WORKLOAD_BIN;
inline const std::string kSchema = MEMSCOPE_SCHEMA;

nlohmann::json load_json(const std::string& path);

// "--probe-mode X" when MEMSCOPE_TEST_PROBE_MODE=X is set, "--placement Y"
// when MEMSCOPE_TEST_PLACEMENT=Y is, so that ctest runs the same cases
// under each attach mechanism and probe placement.
std::vector<std::string> probe_mode_args();

// The report's exact per-API counters equal the workload's truth (folded
// the way the report folds entry points that share one address: glibc's
// memalign is aligned_alloc).
void check_exact(const nlohmann::json& report, const nlohmann::json& truth);

// Estimated figures of every report site whose innermost frame is
// `function`, summed.
struct SiteEstimate {
  double count = 0, bytes = 0, live_count = 0, live_bytes = 0;
  int sites = 0;
};
SiteEstimate site_estimate(const nlohmann::json& report, const std::string& function);
SiteEstimate leak_estimate(const nlohmann::json& report, const std::string& function);

// Reads the target's memory at every probed address in `report` and
// returns the addresses whose bytes differ from the file's (a breakpoint
// left behind). The process must still be alive.
std::vector<std::string> leftover_breakpoints(const nlohmann::json& report, pid_t pid);

// BPF program ids listed by `memscope-bpf -v` on stderr.
std::vector<uint32_t> program_ids(const std::string& agent_stderr);
// Those of `ids` the kernel still has loaded.
std::vector<uint32_t> still_loaded(const std::vector<uint32_t>& ids);

// Workload run under the agent attached by PID, from ready to done.
struct TracedRun {
  nlohmann::json report, truth;
  std::string agent_err, workload_out;
  std::vector<std::string> leftovers;  // breakpoints still in the target after the agent exited
  std::vector<uint32_t> programs_left;
  int agent_exit = -1;
};
// `launcher` runs before the workload (e.g. {"/usr/bin/env", "LD_PRELOAD=..."}).
TracedRun trace_workload_by_pid(const std::vector<std::string>& workload_args,
                                const std::vector<std::string>& agent_args,
                                const std::vector<std::string>& launcher = {});

}  // namespace memscope::test

namespace memscope::test {
// Loaded BPF programs whose names start with "ms_" (ours), by id.
std::vector<uint32_t> memscope_programs();
}  // namespace memscope::test
