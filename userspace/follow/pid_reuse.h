// The order a batch of process events is handled in (pid_reuse.cpp).
#pragma once
#include <vector>

#include "memscope/processes.h"

namespace memscope {

// New children first, each runs untraced until it is probed; but the
// events of a PID that is forked again later in the batch, up to its exit
// (its former holder's: a PID is handed out again only once its holder is
// reaped), go before them. Otherwise the kernel's order.
void order_proc_events(std::vector<ms_proc_event>& events);

}  // namespace memscope
