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
              "probe, so those calls of each also take a return trap (measured +60%% per call when malloc and "
              "free were shared; free gets sites of its own where it has spare ones; not in added_time_s)\n",
              other, pid, terminal_safe(path).c_str());
      shared_warned_ = true;
      return;
    }
}

ProbeSite ProcessTracker::own_site(const ProbeSite& s, uint64_t dev, uint64_t ino, pid_t pid) const {
  std::vector<ProbeSite::Alternate> candidates{{s.offset, s.stack_delta, s.placement}};
  candidates.insert(candidates.end(), s.alternates.begin(), s.alternates.end());
  auto with = [&s](const ProbeSite::Alternate& c) {
    ProbeSite out = s;
    out.offset = c.offset;
    out.stack_delta = c.stack_delta;
    out.placement = c.placement;
    out.alternates.clear();
    return out;
  };
  for (const auto& c : candidates)
    if (probed_.count({dev, ino, c.offset, pid})) return with(c);
  for (const auto& c : candidates) {
    bool taken = false;
    for (const TracedProcess& t : targets_)
      if (t.process.pid != pid && !t.exited && probed_.count({dev, ino, c.offset, t.process.pid})) taken = true;
    if (!taken) return with(c);
  }
  return with(candidates.front());
}

}  // namespace memscope
