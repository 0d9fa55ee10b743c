// Inherited probes: what a child carries from its parent, and taking a
// gone process's down while the trace goes on (process_tracker.h,
// BpfObject::release_process).
#include "follow/process_tracker.h"

namespace memscope {

void ProcessTracker::inherit_probes(pid_t parent, pid_t child) {
  note_inherited(parent, child);
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t, pid_t>> copies;
  for (const auto& [dev, ino, offset, scope] : probed_)
    if (scope == parent) copies.emplace_back(dev, ino, offset, child);
  probed_.insert(copies.begin(), copies.end());
  // Its linker hook too (BpfObject::watch_linker).
  std::vector<std::tuple<uint64_t, uint64_t, pid_t>> hooks;
  for (const auto& [dev, ino, scope] : linkers_)
    if (scope == parent) hooks.emplace_back(dev, ino, child);
  linkers_.insert(hooks.begin(), hooks.end());
}

// A PID taken again would stand for two processes in the graph (a live
// one's chain could then skip the process it inherited from): from then on
// nothing is taken down before the end.
void ProcessTracker::note_inherited(pid_t parent, pid_t child) {
  if (inherited_from_.count(child) || gone_.count(child)) pid_reused_ = true;
  inherited_from_[child] = parent;
}

void ProcessTracker::release_inherited(pid_t gone) {
  if (!inherits()) return;
  gone_.insert(gone);
  if (pid_reused_ || session_.maps().process_stats()[MS_PROC_STAT_EVENTS_LOST]) return;
  // Every process that a live one inherited from, however far up.
  std::set<pid_t> needed;
  for (pid_t live : live_pids())
    for (auto it = inherited_from_.find(live); it != inherited_from_.end(); it = inherited_from_.find(it->second))
      if (!needed.insert(it->second).second) break;
  // The gone process and those it inherited from: the last of a family
  // frees them all. (A PID taken again can close a loop: each once.)
  std::set<pid_t> seen;
  for (pid_t p = gone; seen.insert(p).second;) {
    if (gone_.count(p) && !needed.count(p)) {
      session_.release_process(p);
      gone_.erase(p);
    }
    auto up = inherited_from_.find(p);
    if (up == inherited_from_.end()) break;
    p = up->second;
  }
}

}  // namespace memscope
