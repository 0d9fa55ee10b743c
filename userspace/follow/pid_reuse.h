// The order a batch of process events is handled in (pid_reuse.cpp).
#pragma once
#include <cstdint>
#include <vector>

#include "memscope/processes.h"

namespace memscope {

// New children first, each runs untraced until it is probed; but a fork
// of a PID that exited earlier in the batch (a new holder: a PID is handed
// out again only once its holder is reaped) comes after everything before
// it, the batch being cut there and each part ordered so. Otherwise the
// kernel's order.
void order_proc_events(std::vector<ms_proc_event>& events);

// Whose an exec event at a known entry's PID is.
enum class ExecAt {
  own,         // the entry's process, running
  own_gone,    // the entry's process, gone since (its /proc would show another)
  new_holder,  // a process that took the PID after the entry's exited
};
// `exited_ns`: its exit event's time, or when the agent found it gone
// (CLOCK_MONOTONIC, the events' clock). A process's own exec comes before
// either; a new holder's, after its exit.
ExecAt exec_at(bool exited, uint64_t exited_ns, uint64_t exec_ns);

}  // namespace memscope
