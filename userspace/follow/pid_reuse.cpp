// A PID taken by a new process after its holder exited. The kernel hands
// PIDs out again once they wrap at pid_max (32768 unless raised), so a long
// trace of a build or of --all sees it. Everything the agent keeps per
// process (the kernel's counters, sites, mappings) is keyed by PID, so the
// entry is taken up again and holds both; the report says so
// (processes[].pid_reused) rather than naming the first process alone.
#include <algorithm>
#include <cstdio>
#include <set>
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
  // The batch is cut before each fork of a PID that exited earlier in it
  // (a new holder: everything before is the former one's time); within
  // each part, forks first, each part in the kernel's order otherwise.
  std::vector<ms_proc_event> ordered;
  ordered.reserve(events.size());
  auto flush = [&ordered](std::vector<ms_proc_event>& part) {
    std::stable_partition(part.begin(), part.end(), [](const ms_proc_event& e) { return e.kind == MS_PROC_FORK; });
    ordered.insert(ordered.end(), part.begin(), part.end());
    part.clear();
  };
  std::vector<ms_proc_event> part;
  std::set<uint32_t> exited;  // in this part
  for (const ms_proc_event& e : events) {
    if (e.kind == MS_PROC_FORK && exited.count(e.pid)) {
      flush(part);
      exited.clear();
    }
    if (e.kind == MS_PROC_EXIT) exited.insert(e.pid);
    part.push_back(e);
  }
  flush(part);
  events = std::move(ordered);
}

ExecAt exec_at(bool exited, uint64_t exited_ns, uint64_t exec_ns) {
  if (!exited) return ExecAt::own;
  return exec_ns > exited_ns ? ExecAt::new_holder : ExecAt::own_gone;
}

}  // namespace memscope
