// A PID taken by a new process after its holder exited. The kernel hands
// PIDs out again once they wrap at pid_max (32768 unless raised), so a long
// trace of a build or of --all sees it. Everything the agent keeps per
// process (the kernel's counters, sites, mappings) is keyed by PID, so the
// entry is taken up again and holds both; the report says so
// (processes[].pid_reused) rather than naming the first process alone.
#include <cstdio>
#include <map>

#include "common/terminal_safe.h"
#include "follow/pid_reuse.h"
#include "follow/process_tracker.h"

namespace memscope {

bool ProcessTracker::reuse_exited(pid_t pid, const std::string& comm) {
  TracedProcess* t = find(pid);
  if (!t || !t->exited) return false;
  if (t->pid_reused++ == 0)
    fprintf(stderr,
            "memscope-bpf: warning: PID %d (%s) exited and a new process (%s) took its PID: both are reported "
            "together as PID %d\n",
            pid, terminal_safe(t->process.comm).c_str(), terminal_safe(comm).c_str(), pid);
  t->exited = false;
  copies_.erase(pid);
  return true;
}

void order_proc_events(std::vector<ms_proc_event>& events) {
  // New children first (each runs untraced until probed), except that the
  // exit of a PID forked again later in the batch (its former holder's)
  // goes before them all.
  std::vector<bool> early(events.size(), false);
  std::map<uint32_t, size_t> last_exit;  // PID -> its latest exit so far
  for (size_t i = 0; i < events.size(); ++i) {
    const ms_proc_event& e = events[i];
    if (e.kind == MS_PROC_EXIT) {
      last_exit[e.pid] = i;
    } else if (auto it = last_exit.find(e.pid); e.kind == MS_PROC_FORK && it != last_exit.end()) {
      early[it->second] = true;
      last_exit.erase(it);
    }
  }
  std::vector<ms_proc_event> ordered;
  ordered.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i)
    if (early[i]) ordered.push_back(events[i]);
  for (const ms_proc_event& e : events)
    if (e.kind == MS_PROC_FORK) ordered.push_back(e);
  for (size_t i = 0; i < events.size(); ++i)
    if (!early[i] && events[i].kind != MS_PROC_FORK) ordered.push_back(events[i]);
  events = std::move(ordered);
}

}  // namespace memscope
