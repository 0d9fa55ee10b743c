#include "targets/resolve.h"

#include <unistd.h>

#include "common/error.h"

namespace memscope {

AllocatorTarget resolve_allocator(const TargetLookup& lookup, PlacementMode placement) {
  const bool command = lookup.envp != nullptr;
  AllocatorTarget alloc =
      command ? find_allocator_for_command(lookup.exe, lookup.envp) : find_allocator(lookup.pid, lookup.exe);
  place_probes(alloc, placement);
  if (alloc.sites.empty()) {
    const char* none =
        command ? "neither it nor its libraries define malloc" : "no object in the process defines malloc";
    throw Error(lookup.name + ": no allocator to probe: " + (alloc.why_none.empty() ? none : alloc.why_none));
  }
  return alloc;
}

AllocatorTarget resolve_running(const ProcessInfo& info, PlacementMode placement) {
  return resolve_allocator({info.pid, info.exe, nullptr, "PID " + std::to_string(info.pid) + " (" + info.comm + ")"},
                           placement);
}

TracedProcess resolve_target(pid_t pid, PlacementMode placement) {
  if (pid == getpid()) throw Error("PID " + std::to_string(pid) + " is memscope-bpf itself");
  TracedProcess t;
  t.process = read_process(pid);
  t.allocator = resolve_running(t.process, placement);
  return t;
}

}  // namespace memscope
