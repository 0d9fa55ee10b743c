// One thread of memscope-overhead-load: cycles through its operation table,
// each step freeing the block allocated 16 steps earlier and allocating a
// new one (a malloc+free pair, or calloc/realloc in place of the malloc).
#pragma once
#include <cstdint>
#include <vector>

#include "load_mix.h"

namespace memscope::overhead {

struct CallCounts {
  uint64_t malloc = 0, calloc = 0, realloc = 0, free = 0;
  uint64_t total() const { return malloc + calloc + realloc + free; }
};

struct WorkerResult {
  CallCounts calls;         // allocator calls made in the measured window
  uint64_t elapsed_ns = 0;  // CLOCK_MONOTONIC length of that window
  uint64_t cpu_ns = 0;      // this thread's CPU time (user + kernel) in it
};

uint64_t monotonic_ns();
// The calling thread's CPU time. Trap handling and BPF programs run in the
// thread's context and count here, while time the thread spends preempted
// by other processes does not: on a shared host, CPU ns per call is the
// steadier figure, wall-clock throughput the one a user sees.
uint64_t thread_cpu_ns();

// Runs through the table once, untimed, so that the thread's arena, tcache
// and heap pages exist before any tracer attaches: the untraced and traced
// runs then start from the same allocator state.
void prime_allocator(const std::vector<Op>& ops);

// Runs for `warmup_ns` uncounted (tracer maps and caches fill up), then
// counts calls for `measure_ns`. `ops.size()` must be a power of two.
WorkerResult run_measured(const std::vector<Op>& ops, uint64_t warmup_ns, uint64_t measure_ns);

}  // namespace memscope::overhead
