// One thread of the throughput mode: cycles through its operation table,
// each step freeing the block allocated 16 steps earlier and allocating a
// new one (a malloc+free pair, or calloc/realloc in place of the malloc).
#pragma once

#include <cstdint>
#include <vector>

#include "throughput_mix.h"

namespace memscope::workload {

struct CallCounts {
    std::uint64_t malloc = 0, calloc = 0, realloc = 0, free = 0;
    std::uint64_t total() const { return malloc + calloc + realloc + free; }
};

struct WindowResult {
    CallCounts calls;              // allocator calls made in the measured window
    std::uint64_t elapsed_ns = 0;  // CLOCK_MONOTONIC length of that window
    // This thread's CPU time (user + kernel) in it. Trap handling and BPF
    // programs run in the thread's context and count here, while time the
    // thread spends preempted by other processes does not: on a shared host,
    // CPU ns per call is the steadier figure, wall-clock throughput the one a
    // user sees.
    std::uint64_t cpu_ns = 0;
};

// Runs through the table once, untimed, so that the thread's arena, tcache
// and heap pages exist before any tracer attaches: the untraced and traced
// runs then start from the same allocator state.
void prime_allocator(const std::vector<Op>& ops);

// Runs for `warmup_ns` uncounted (tracer maps and caches fill up), then
// counts calls for `measure_ns`. `ops.size()` must be a power of two.
WindowResult run_window(const std::vector<Op>& ops, std::uint64_t warmup_ns, std::uint64_t measure_ns);

}  // namespace memscope::workload
