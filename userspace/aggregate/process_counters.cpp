#include "aggregate/process_counters.h"

namespace memscope {

ProcessCounts& ProcessCounts::operator+=(const ProcessCounts& o) {
  for (unsigned api = 0; api < MS_API_COUNT; ++api)
    for (unsigned c = 0; c < MS_SIZE_CLASSES; ++c) {
      exact.by_api_class[api][c].calls += o.exact.by_api_class[api][c].calls;
      exact.by_api_class[api][c].bytes += o.exact.by_api_class[api][c].bytes;
    }
  entry_hits += o.entry_hits;
  return_hits += o.return_hits;
  user_ticks += o.user_ticks;
  return *this;
}

std::map<pid_t, ProcessCounts> with_retired(std::map<pid_t, ProcessCounts> live,
                                            const std::map<pid_t, ProcessCounts>& retired) {
  for (const auto& [pid, c] : retired) live[pid] += c;
  return live;
}

}  // namespace memscope
