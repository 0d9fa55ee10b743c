// The throughput mode of memscope-workload (--seconds): threads make
// allocator calls in a tight loop with one profile's size mix; after
// --wait-start's SIGUSR1 they warm up, measure for a fixed time and the
// allocator calls per second achieved go to stdout as one JSON object. The
// overhead benchmark (tools/overhead) measures a tracer's cost with it.
//
// The window is timed, not counted: a trapped call's cost differs by well
// over an order of magnitude between hosts (docs/measurements.md#method-and-hosts),
// so a fixed count would take anything from a second to minutes. Unlike the exact phase this mode allocates
// freely outside its loop (threads, tables, the JSON line) and has no truth.
#pragma once

#include "options.h"

namespace memscope::workload {

// Runs the mode as `o` says (o.seconds > 0); the process's exit status.
int run_throughput(const Options& o);

}  // namespace memscope::workload
