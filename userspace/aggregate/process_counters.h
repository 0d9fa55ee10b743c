// The kernel's per-process counters, summed over CPUs: exact calls and
// bytes per entry point and size class, and the probe hits each process
// took (what tracing cost it, in traps).
#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>

#include "aggregate/kernel_counters.h"
#include "memscope/processes.h"

namespace memscope {

struct ProcessCounts {
  ExactCounts exact;  // by_api_class only; the health counters are global
  uint64_t entry_hits = 0, return_hits = 0;
  uint64_t hits() const { return entry_hits + return_hits; }
  ProcessCounts& operator+=(const ProcessCounts& o);
};

std::map<pid_t, ProcessCounts> read_process_counts(int counts_fd, int hits_fd);
// Adds the counters of processes that had a slot (see ms_cookie_with_slot):
// the per-process arrays, indexed by slot, for each PID in `slots`.
void add_slot_counts(std::map<pid_t, ProcessCounts>& out, int slot_counts_fd, int slot_hits_fd,
                     const std::map<pid_t, uint32_t>& slots);
// Every process's counters as the report and the duty cycle see them: the
// hash, the slot arrays, and those of processes already retired (read and
// taken out of the maps at their exit; a PID used again adds up under it).
std::map<pid_t, ProcessCounts> read_every_process(int counts_fd, int hits_fd, int slot_counts_fd, int slot_hits_fd,
                                                  const std::map<pid_t, uint32_t>& slots,
                                                  const std::map<pid_t, ProcessCounts>& retired);
std::array<uint64_t, MS_PROC_STAT_COUNT> read_process_stats(int stats_fd);
// Reads one process's counters from the per-process hash maps and deletes
// its entries: after its exit, so that a long trace of processes coming
// and going does not fill them.
ProcessCounts take_process_counts(int counts_fd, int hits_fd, pid_t pid);
// What each process lost to full per-process tables (proc_overflow).
std::map<pid_t, ms_proc_overflow> read_process_overflow(int overflow_fd);

}  // namespace memscope
