// A traced process as the agent knows it while tracing runs (the live
// model): what it is, what serves its allocations, the objects it loaded
// later, and its memory over time. The follow stage keeps it current; the
// report stage turns it into the process's part of the report, once, at the
// end.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "targets/allocator.h"
#include "targets/memory_track.h"
#include "targets/process.h"

namespace memscope {

// An object that defines allocator entry points of its own beside the
// allocator serving malloc, loaded with dlopen (RTLD_LOCAL libraries called
// through dlsym, a libstdc++ a plugin brings): probed as well.
struct ExtraAllocator {
  std::string path;            // as the process sees it
  std::vector<unsigned> apis;  // the entry points probed in it
  // Measured: from the dynamic linker's report of the new object (in the
  // kernel) to its probes attached; calls in between are not counted. <0:
  // it was loaded before tracing started (no window).
  double attach_delay_s = -1;
};

// An exec the process made while traced: the program it ran from then on,
// and whether that program's calls were counted.
struct ExecRecord {
  uint64_t time_ns = 0;  // CLOCK_MONOTONIC, as the kernel saw it
  std::string exe;
  bool traced = false;
  std::string not_traced_because;  // why not, when not
};

struct TracedProcess {
  ProcessInfo process;
  AllocatorTarget allocator;
  std::vector<ExtraAllocator> extra_allocators;
  std::vector<ExecRecord> execs;  // in order; `process` is what the last one ran
  bool exited = false;
  // When it exited (CLOCK_MONOTONIC): its exit event's time, or when the
  // agent found it gone (/proc), which may be before its own exec event is
  // handled (follow/pid_reuse.h).
  uint64_t exited_ns = 0;
  // Later processes that took this PID after it exited, during the trace
  // (the kernel reuses PIDs once they wrap at pid_max): their calls are in
  // this entry's figures too, which therefore hold several processes.
  uint32_t pid_reused = 0;
  MemoryTrack memory;  // RSS and the heap over time; mmap/munmap/brk with --syscall-counts
};

}  // namespace memscope
