// The order a batch of process events is handled in (pid_reuse.cpp).
#pragma once
#include <vector>

#include "memscope/processes.h"

namespace memscope {

// New children first, each runs untraced until it is probed; but a fork
// of a PID that exited earlier in the batch (a new holder: a PID is handed
// out again only once its holder is reaped) comes after everything before
// it, the batch being cut there and each part ordered so. Otherwise the
// kernel's order.
void order_proc_events(std::vector<ms_proc_event>& events);

}  // namespace memscope
