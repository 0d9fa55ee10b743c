// Typed access to the kernel's maps: the one place in the agent that reads,
// walks or deletes map entries (bpf_map_*). It hands out the plain data the
// later stages work on (aggregate/'s counters and site stacks), so that no
// other stage knows a map's layout or holds its fd.
#pragma once
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <map>
#include <vector>

#include "aggregate/kernel_counters.h"
#include "aggregate/kernel_sites.h"
#include "aggregate/process_counters.h"
#include "memscope/processes.h"
#include "memscope/vm_counts.h"

namespace memscope {

class KernelMaps {
 public:
  struct Fds {
    int counts = -1, stats = -1, sites = -1, stacks = -1;
    int proc_counts = -1, proc_hits = -1, proc_slot_counts = -1, proc_slot_hits = -1;
    int proc_stats = -1, proc_overflow = -1;
    int vm = -1, vm_regions = -1;
  };
  KernelMaps() = default;
  explicit KernelMaps(const Fds& fds) : fds_(fds) {}

  // Every call and its bytes by entry point and size class, and the
  // probes' health counters, summed over CPUs.
  ExactCounts exact_counts() const;
  // Each process's counters: the per-process hash, and the slot arrays of
  // the processes in `slots` (see ms_cookie_with_slot).
  std::map<pid_t, ProcessCounts> process_counts(const std::map<pid_t, uint32_t>& slots = {}) const;
  // Reads one process's counters from the per-process hash maps and deletes
  // its entries: after its exit, so that a long trace of processes coming
  // and going does not fill them.
  ProcessCounts take_process_counts(pid_t pid);
  // Creates the process's zeroed entries in the per-process hash maps (its
  // hits, and its counters of `apis`) where there are none yet, so that
  // its probes only ever update them: the kernel makes a new entry's
  // per-CPU value without waiting, which fails in a burst of new processes
  // (thousands of forks), and a call whose entry cannot be made is counted
  // in the totals only. For the processes the user names, whose counts must
  // be whole.
  void reserve_process_counts(pid_t pid, const std::vector<unsigned>& apis);
  std::array<uint64_t, MS_PROC_STAT_COUNT> process_stats() const;
  // What each process lost to full per-process tables (proc_overflow).
  std::map<pid_t, ms_proc_overflow> process_overflow() const;
  // The call sites the kernel numbered, with their stacks.
  SiteStacks site_stacks() const;

  // The process's mmap/munmap/brk counters (they outlive it); false when it
  // has none.
  bool vm_counts(pid_t pid, ms_vm_counts& out) const;
  // Starts counting the process's memory syscalls from `start`; false when
  // its table is full.
  bool count_vm(pid_t pid, const ms_vm_counts& start);
  // Takes out the process's counters and the anonymous regions it never
  // unmapped (thread stacks, arenas), after its exit.
  void forget_vm(pid_t pid);

 private:
  Fds fds_;
};

}  // namespace memscope
