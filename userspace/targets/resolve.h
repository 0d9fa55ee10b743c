// Target resolution: which allocator serves a process (or a command about
// to run), with its probes placed, or a one-line error saying why there is
// nothing to probe. The one place that decides it, for targets given up
// front, processes found while tracing, exec'd programs and the probe-cost
// calibration.
#pragma once
#include <sys/types.h>

#include <string>

#include "targets/allocator.h"
#include "targets/traced_process.h"

namespace memscope {

struct TargetLookup {
  pid_t pid = 0;                // a running process: looked up through its maps
  std::string exe;              // its executable, or the command's path
  char* const* envp = nullptr;  // set: `exe` is looked up as a command run with this environment
  std::string name;             // how an error names the target
};

// Throws Error "<name>: no allocator to probe: <why>" when nothing defines
// malloc, or the reason the lookup failed.
AllocatorTarget resolve_allocator(const TargetLookup& lookup, PlacementMode placement);

// The allocator of a running process already read; errors name it
// "PID N (comm)".
AllocatorTarget resolve_running(const ProcessInfo& info, PlacementMode placement);

// A running process given by PID. Throws Error with a one-line reason (no
// such process, kernel thread, the agent itself, nothing defines malloc).
TracedProcess resolve_target(pid_t pid, PlacementMode placement);

}  // namespace memscope
