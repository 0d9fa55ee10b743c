// ProcessTracker::warn_shared_sites: two processes probed at the same sites
// with session links cost each of them a return trap per call.
#include <cstdio>

#include "common/terminal_safe.h"
#include "follow/process_tracker.h"

namespace memscope {

void ProcessTracker::warn_shared_sites(pid_t pid, const std::string& path,
                                       const std::vector<std::tuple<uint64_t, uint64_t, uint64_t, pid_t>>& keys) {
  if (shared_warned_ || options_.all || !session_.uses_session_links()) return;
  for (const auto& [dev, ino, offset, scope] : keys)
    for (const TracedProcess& t : targets_) {
      const pid_t other = t.process.pid;
      if (other == pid || t.exited || !probed_.count({dev, ino, offset, other})) continue;
      fprintf(stderr,
              "memscope-bpf: warning: PIDs %d and %d are probed at the same sites of %s: the kernel runs each "
              "process's session link on every hit, and one that skips another process asks for the return "
              "probe, so every call of each also takes a return trap (measured +60%% per call; not in "
              "added_time_s)\n",
              other, pid, terminal_safe(path).c_str());
      shared_warned_ = true;
      return;
    }
}

}  // namespace memscope
