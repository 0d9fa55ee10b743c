// A traced process's exit: what the agent lets go of, and keeps.
#include <utility>

#include "common/clock.h"
#include "follow/process_tracker.h"

namespace memscope {

void ProcessTracker::retire(pid_t pid) {
  // A sweep owed for its children is made while its sites are known; then
  // they are forgotten: a process reusing the PID is probed afresh.
  if (unswept_.erase(pid)) session_.sweep_copies(pid);
  session_.forget_sites(pid);
  std::erase_if(probed_, [pid](const auto& k) { return std::get<3>(k) == pid; });
  std::erase_if(linkers_, [pid](const auto& k) { return std::get<2>(k) == pid; });
  ProcessCounts c = session_.maps().take_process_counts(pid);
  // A slot's process keeps only its clock ticks in the hash (its hits are
  // in the slot arrays): kept too.
  if (c.hits() || c.exact.allocation_calls() || c.exact.free_calls() || c.user_ticks) retired_[pid] += c;
  if (TracedProcess* t = find(pid); t && t->memory.followed) {
    session_.maps().vm_counts(pid, t->memory.vm);
    session_.maps().forget_vm(pid);
  }
}

void ProcessTracker::add_exited(const ProcessInfo& info, const AllocatorTarget& alloc) {
  TracedProcess gone;
  gone.process = info;
  gone.allocator = alloc;
  gone.exited = true;
  gone.exited_ns = monotonic_ns();
  index_[info.pid] = targets_.size();
  targets_.push_back(std::move(gone));
}

void ProcessTracker::on_exit_event(pid_t pid, uint64_t time_ns) {
  exec_pending_.erase(pid);
  launching_.erase(pid);  // a command that died before its exec
  mark_exited(pid, time_ns);
  retire(pid);
  release_inherited(pid);
}

void ProcessTracker::mark_exited(pid_t pid, uint64_t at_ns) {
  TracedProcess* t = find(pid);
  if (t && !std::exchange(t->exited, true)) t->exited_ns = at_ns ? at_ns : monotonic_ns();
}

}  // namespace memscope
