// What tracing cost the agent over a run, next to what the traced
// processes used meanwhile: the figures behind "agent CPU per million
// records" and "agent CPU as a share of the target's".
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace memscope {

struct AgentCost {
  double cpu_user_s = 0, cpu_system_s = 0;  // the agent, from attach to the end (getrusage)
  uint64_t max_rss_bytes = 0;               // the agent's peak resident memory
  uint64_t drain_batches = 0;               // ring-buffer batches drained
  uint64_t table_bytes = 0;                 // the aggregator's tables at the end
  uint64_t live_blocks = 0;                 // sampled blocks tracked at the end
  double target_cpu_s = 0;                  // the traced processes over the same interval
  bool target_cpu_complete = true;          // false: a target was gone at the end, its last stretch is missing
};

class AgentCostMeter {
 public:
  // Takes the starting readings: the agent's own usage and each target's
  // CPU time from /proc/PID/stat.
  explicit AgentCostMeter(const std::vector<pid_t>& targets);

  // The cost since construction; the aggregator figures are the caller's.
  AgentCost finish(uint64_t drain_batches, uint64_t table_bytes, uint64_t live_blocks) const;

 private:
  std::vector<pid_t> targets_;
  std::vector<double> target_start_s_;
  double user_start_s_ = 0, system_start_s_ = 0;
};

}  // namespace memscope
