#include "aggregate/agent_cost.h"

#include <sys/resource.h>

#include <algorithm>

#include "targets/process.h"

namespace memscope {
namespace {
double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }
double since(const AgentCpuMark& then, const AgentCpuMark& now) {
  return std::max(0.0, now.user_s + now.system_s - then.user_s - then.system_s);
}
}  // namespace

AgentCpuMark agent_cpu_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {seconds(ru.ru_utime), seconds(ru.ru_stime)};
}

AgentCostMeter::AgentCostMeter(const std::vector<pid_t>& targets, AgentCpuMark agent_start)
    : targets_(targets), agent_start_(agent_start), setup_cpu_s_(since(agent_start, agent_cpu_now())) {
  for (pid_t pid : targets_) target_start_s_.push_back(process_cpu_seconds(pid));
  target_end_s_.assign(targets_.size(), -1);
}

void AgentCostMeter::target_ended(pid_t pid, double cpu_s) {
  for (size_t i = 0; i < targets_.size(); ++i)
    if (targets_[i] == pid) target_end_s_[i] = cpu_s;
}

AgentCost AgentCostMeter::finish(uint64_t drain_batches, uint64_t table_bytes, uint64_t live_blocks,
                                 AgentCpuMark finish_start) const {
  AgentCost c;
  c.setup_cpu_s = setup_cpu_s_;
  c.finish_cpu_s = since(finish_start, agent_cpu_now());
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  c.cpu_user_s = std::max(0.0, seconds(ru.ru_utime) - agent_start_.user_s);
  c.cpu_system_s = std::max(0.0, seconds(ru.ru_stime) - agent_start_.system_s);
  c.max_rss_bytes = static_cast<uint64_t>(ru.ru_maxrss) * 1024;  // Linux reports KiB
  c.drain_batches = drain_batches;
  c.table_bytes = table_bytes;
  c.live_blocks = live_blocks;
  for (size_t i = 0; i < targets_.size(); ++i) {
    const double now = target_end_s_[i] >= 0 ? target_end_s_[i] : process_cpu_seconds(targets_[i]);
    if (now < 0 || target_start_s_[i] < 0) {
      c.target_cpu_complete = false;
      continue;
    }
    c.target_cpu_s += std::max(0.0, now - target_start_s_[i]);
  }
  return c;
}

}  // namespace memscope
