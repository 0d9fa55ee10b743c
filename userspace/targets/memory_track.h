// Memory beyond the allocator's calls, per target: the kernel's exact
// mmap/munmap/brk counters and, over time, the resident set beside the heap
// the allocator handed out, so that a leak (both grow), fragmentation or
// allocator retention (RSS grows, live heap does not) can be told apart.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "memscope/record.h"
#include "memscope/vm_counts.h"

namespace memscope {

struct MemorySample {
  double t_s = 0;                  // since the trace started
  uint64_t rss_bytes = 0;          // measured: /proc VmRSS
  uint64_t rss_anon_bytes = 0;     // measured: /proc RssAnon
  double heap_live_bytes = 0;      // estimated: sampled blocks not yet freed, weighted
  uint64_t mapped_anon_bytes = 0;  // measured: anonymous mmap minus munmap bytes since the start
  uint64_t brk_bytes = 0;          // measured: the break's distance from the heap's start
  // Measured: the process's allocation calls and the bytes they asked for,
  // counted by the kernel since the start; consecutive samples give the
  // allocation rate.
  uint64_t allocation_calls = 0, allocation_bytes = 0;
};

struct MemoryTrack {
  bool followed = false;  // the syscall counters run for this process
  uint64_t start_brk = 0;
  ms_vm_counts vm{};  // the kernel's counters, as last read (they outlive the process)
  std::vector<MemorySample> timeline;

  // Reads /proc now and appends a sample with the counters last read and
  // `allocated` (calls and bytes so far); false (and nothing appended) when
  // the process is gone.
  bool sample(pid_t pid, double t_s, double heap_live_bytes, ms_count allocated);
};

}  // namespace memscope
