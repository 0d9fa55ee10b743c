// What the kernel says a process's memory is: resident set and program
// break, read from /proc, to set the allocator's view beside.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace memscope {

struct ResidentMemory {
  uint64_t rss_bytes = 0;       // VmRSS
  uint64_t rss_anon_bytes = 0;  // RssAnon: heap, mmapped blocks, stacks
};

// nullopt once the process is gone.
std::optional<ResidentMemory> read_resident_memory(pid_t pid);

struct ProgramBreak {
  uint64_t start = 0;    // where the heap began (start_brk)
  uint64_t current = 0;  // the end of [heap], or `start` when it has none
};

// nullopt when the process is gone or its stat cannot be read.
std::optional<ProgramBreak> read_program_break(pid_t pid);

}  // namespace memscope
