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
// Where the workload's builds against other allocators are.
inline const std::string kWorkloadDir = kWorkload.substr(0, kWorkload.rfind('/'));
inline const std::string kSchema = MEMSCOPE_SCHEMA;

nlohmann::json load_json(const std::string& path);

// "--probe-mode X" when MEMSCOPE_TEST_PROBE_MODE=X is set, "--placement Y"
// when MEMSCOPE_TEST_PLACEMENT=Y is, so that ctest runs the same cases
// under each attach mechanism and probe placement.
std::vector<std::string> probe_mode_args();

// Estimated figures of every report site whose innermost frame is
// `function`, summed.
struct SiteEstimate {
  double count = 0, bytes = 0, live_count = 0, live_bytes = 0;
  double bytes_lo = 0, bytes_hi = 0;  // the sites' 95% intervals of bytes, summed
  int sites = 0;
};
SiteEstimate site_estimate(const nlohmann::json& report, const std::string& function);
SiteEstimate leak_estimate(const nlohmann::json& report, const std::string& function);
// Estimated live bytes of the report's leaks other than `leak_function`'s.
double other_leaks_live_bytes(const nlohmann::json& report, const std::string& leak_function);

// Every truth site holding at least `share` of the bytes has a report site
// whose estimated bytes lie within `max_rel` of the truth; returns how many
// were checked. With Interval::checked the estimate also lies within 4
// standard errors of the truth, read from its own 95% interval (so the
// interval is neither missing nor absurdly narrow).
enum class Interval { unchecked, checked };
int check_big_sites(const nlohmann::json& report, const nlohmann::json& truth, double share, double max_rel,
                    Interval interval = Interval::unchecked);
// The workload's deliberate leak is found with its live bytes within
// `max_rel` of the truth.
void check_leak(const nlohmann::json& report, const nlohmann::json& truth, double max_rel);

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
// The truth's entry points that release blocks: free and the C++ deletes.
inline bool frees_blocks(const std::string& api) { return api == "free" || api.rfind("operator delete", 0) == 0; }

// Checks the exact counters of `report` (the whole report, or one of its
// processes[]) against the workload's ground truth: calls and bytes per
// entry point, folded the way the report folds entry points that share one
// address (glibc's memalign is aligned_alloc).
void check_exact(const nlohmann::json& report, const nlohmann::json& truth);

// Every site of the workload's phase in `report` (or one of its
// processes[]), exactly: calls and bytes, as with --sample-all.
void check_sites_exact(const nlohmann::json& report, const nlohmann::json& truth);

// Ends a running agent with SIGINT, requires a clean exit, and returns its
// report read from `report_path`, checked against the schema.
nlohmann::json stop_agent(Child& agent, const std::string& report_path);

// Several workloads, each waiting at its start, attached by PID together.
struct MultiRun {
  nlohmann::json report;
  std::vector<nlohmann::json> truths;  // in the order of `workloads`
  std::vector<pid_t> pids;
  std::string agent_err;
  std::vector<uint32_t> programs_left;
};
MultiRun trace_workloads_by_pid(const std::vector<std::vector<std::string>>& workloads,
                                const std::vector<std::string>& agent_args);

// A test program that prints "ready", waits for SIGUSR1, does its calls,
// prints "done" and waits for SIGUSR1 again to exit: traced by PID (with
// agent_args and the probe mode under test) from "ready" to "done".
struct ProgramRun {
  nlohmann::json report;
  std::string program_err;  // the program's stderr, "done" line included
};
ProgramRun trace_test_program(const std::string& program, const std::vector<std::string>& agent_args);
// The same for a program started by `argv` (e.g. {"/usr/bin/env", "LD_PRELOAD=...", program}: env execs it).
ProgramRun trace_test_program(const std::vector<std::string>& argv, const std::vector<std::string>& agent_args);

// `launcher` runs before the workload (e.g. {"/usr/bin/env", "LD_PRELOAD=..."});
// `workload` is the binary (a build of it linked against another allocator).
TracedRun trace_workload_by_pid(const std::vector<std::string>& workload_args,
                                const std::vector<std::string>& agent_args,
                                const std::vector<std::string>& launcher = {}, const std::string& workload = kWorkload);

// What one probe hit costs on this host (ns), as the agent's calibration
// measures it at the end of a short traced run: the price of a trap differs
// up to ~10x between the hosts CI runs on.
double host_hit_cost_ns();
// A web workload's --scale for a test whose run time is mostly its traps
// (`hits_per_scale` hits per unit of scale, e.g. its frees with the release
// probes attached): the scale whose traps take about `seconds` here, at
// most `most` (the scale the test was written for on a host of cheap
// traps). On a host whose traps cost 10x, such a test would otherwise run
// 10x longer for nothing it checks.
std::string scale_for_trap_time(double seconds, double hits_per_scale, long most);

}  // namespace memscope::test

namespace memscope::test {
// Loaded BPF programs whose names start with "ms_" (ours), by id.
std::vector<uint32_t> memscope_programs();
// The tracefs uprobe events of agent `agent_pid` (group memscope_PID), one
// line each; read through a private mount of tracefs when none is mounted.
std::vector<std::string> uprobe_events_of(pid_t agent_pid);
}  // namespace memscope::test
