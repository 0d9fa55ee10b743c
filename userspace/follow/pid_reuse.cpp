// A PID taken by a new process after its holder exited. The kernel hands
// PIDs out again once they wrap at pid_max (32768 unless raised), so a long
// trace of a build or of --all sees it. Everything the agent keeps per
// process (the kernel's counters, sites, mappings) is keyed by PID, so the
// entry is taken up again and holds both; the report says so
// (processes[].pid_reused) rather than naming the first process alone.
#include <cstdio>
#include <map>
#include <utility>

#include "common/terminal_safe.h"
#include "follow/pid_reuse.h"
#include "follow/process_tracker.h"

namespace memscope {

void ProcessTracker::note_reuse(TracedProcess& t, const std::string& comm) {
  ++t.pid_reused;
  // Once per trace: after a wrap under --all every PID is taken again.
  if (!std::exchange(reuse_warned_, true))
    fprintf(stderr,
            "memscope-bpf: warning: PID %d (%s) exited and a new process (%s) took its PID: both are reported "
            "together as PID %d (processes[].pid_reused counts these for every PID)\n",
            t.process.pid, terminal_safe(t.process.comm).c_str(), terminal_safe(comm).c_str(), t.process.pid);
}

void order_proc_events(std::vector<ms_proc_event>& events) {
  // New children first (each runs untraced until probed), except that the
  // events of a PID's former holder, up to its exit, go before a fork that
  // takes the PID again later in the batch.
  std::vector<bool> early(events.size(), false);
  std::map<uint32_t, std::vector<size_t>> since;  // PID -> its events not yet moved up
  std::map<uint32_t, size_t> last_exit;           // PID -> its latest exit so far
  for (size_t i = 0; i < events.size(); ++i) {
    const ms_proc_event& e = events[i];
    if (auto it = last_exit.find(e.pid); e.kind == MS_PROC_FORK && it != last_exit.end()) {
      for (size_t j : since[e.pid])
        if (j <= it->second) early[j] = true;
      since.erase(e.pid);
      last_exit.erase(it);
    }
    since[e.pid].push_back(i);
    if (e.kind == MS_PROC_EXIT) last_exit[e.pid] = i;
  }
  std::vector<ms_proc_event> ordered;
  ordered.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i)
    if (early[i]) ordered.push_back(events[i]);
  for (size_t i = 0; i < events.size(); ++i)
    if (!early[i] && events[i].kind == MS_PROC_FORK) ordered.push_back(events[i]);
  for (size_t i = 0; i < events.size(); ++i)
    if (!early[i] && events[i].kind != MS_PROC_FORK) ordered.push_back(events[i]);
  events = std::move(ordered);
}

}  // namespace memscope
