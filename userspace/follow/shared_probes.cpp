// Processes probed with session links at the same sites each pay a return
// trap per call there: ProcessTracker::own_site gives a release entry point
// of another process a site of its own where one is spare, and
// warn_shared_sites says when sites are still shared.
#include <cstdio>

#include "common/terminal_safe.h"
#include "follow/process_tracker.h"

namespace memscope {

void ProcessTracker::warn_shared_sites(pid_t pid, const std::string& path,
                                       const std::vector<std::tuple<uint64_t, uint64_t, uint64_t, pid_t>>& keys) {
  if (shared_warned_ || options_.all || !session_.uses_session_links()) return;
  for (const auto& [dev, ino, offset, scope] : keys) {
    auto it = site_links_.find({dev, ino, offset});
    if (it == site_links_.end() || it->second == 0) continue;
    fprintf(stderr,
            "memscope-bpf: warning: PID %d is probed at sites of %s where another traced process is: the kernel "
            "runs each process's session link on every hit, and one that skips another process asks for the "
            "return probe, so those calls of each also take a return trap (measured +60%% per call when malloc "
            "and free were shared; free gets sites of its own where it has spare ones; not in added_time_s)\n",
            pid, terminal_safe(path).c_str());
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
  const ProbeSite::Alternate* best = &candidates.front();
  unsigned fewest = ~0u;
  for (const auto& c : candidates) {
    auto it = site_links_.find({dev, ino, c.offset});
    const unsigned links = it == site_links_.end() ? 0 : it->second;
    if (links < fewest) {
      fewest = links;
      best = &c;
    }
  }
  return with(*best);
}

}  // namespace memscope
