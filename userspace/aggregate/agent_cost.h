// What tracing cost the agent over a run, next to what the traced
// processes used meanwhile: the figures behind "agent CPU per million
// records" and "agent CPU as a share of the target's".
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace memscope {

struct AgentCost {
  // The agent, from loading its probes to the finished report: unwind
  // tables, draining, symbolizing included (getrusage, all its threads).
  double cpu_user_s = 0, cpu_system_s = 0;
  // Of that (user + system): loading the probes and the first unwind tables,
  // before the targets were attached, and the work after tracing stopped
  // (measuring the probe cost when the start did not, symbolizing the sites,
  // assembling the report); both once per run, not per call.
  double setup_cpu_s = 0, finish_cpu_s = 0;
  uint64_t max_rss_bytes = 0;       // the agent's peak resident memory
  uint64_t drain_batches = 0;       // ring-buffer batches drained
  uint64_t table_bytes = 0;         // the aggregator's tables at the end
  uint64_t live_blocks = 0;         // sampled blocks tracked at the end
  double target_cpu_s = 0;          // the traced processes over the same interval
  bool target_cpu_complete = true;  // false: a target was gone at the end, its last stretch is missing
};

// The agent's own CPU time so far.
struct AgentCpuMark {
  double user_s = 0, system_s = 0;
};
AgentCpuMark agent_cpu_now();

class AgentCostMeter {
 public:
  // Takes each target's CPU time from /proc/PID/stat now; the agent's own
  // usage counts from `agent_start` (taken earlier when the work done for
  // this run began before its targets were attached).
  explicit AgentCostMeter(const std::vector<pid_t>& targets, AgentCpuMark agent_start = agent_cpu_now());

  // A target's CPU time when it ended (a reaped command's wait4 figure), for
  // a process /proc can no longer read at the end.
  void target_ended(pid_t pid, double cpu_s);

  // The cost since `agent_start`, `finish_start` marking where the work for
  // the report began; the aggregator figures are the caller's.
  AgentCost finish(uint64_t drain_batches, uint64_t table_bytes, uint64_t live_blocks,
                   AgentCpuMark finish_start = agent_cpu_now()) const;

 private:
  std::vector<pid_t> targets_;
  std::vector<double> target_start_s_;
  std::vector<double> target_end_s_;  // < 0: not ended before finish()
  AgentCpuMark agent_start_;
  double setup_cpu_s_ = 0;
};

}  // namespace memscope
