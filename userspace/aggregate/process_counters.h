// The kernel's per-process counters, summed over CPUs: exact calls and
// bytes per entry point and size class, and the probe hits each process
// took (what tracing cost it, in traps). Read by attach/kernel_maps.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>

#include "aggregate/kernel_counters.h"

namespace memscope {

struct ProcessCounts {
  ExactCounts exact;  // by_api_class only; the health counters are global
  uint64_t entry_hits = 0, return_hits = 0;
  uint64_t user_ticks = 0;  // the sampled user-mode clock's (bpf/user_clock.bpf.h)
  uint64_t hits() const { return entry_hits + return_hits; }
  ProcessCounts& operator+=(const ProcessCounts& o);
};

// Every process's counters as the report and the duty cycle see them: those
// the kernel holds now, and those of processes already retired (read and
// taken out of the maps at their exit; a PID used again adds up under it).
std::map<pid_t, ProcessCounts> with_retired(std::map<pid_t, ProcessCounts> live,
                                            const std::map<pid_t, ProcessCounts>& retired);

}  // namespace memscope
