#include "targets/memory_track.h"

#include "targets/process_memory.h"

namespace memscope {

bool MemoryTrack::sample(pid_t pid, double t_s, double heap_live_bytes, ms_count allocated) {
  // A launched command's heap start is read once it has called brk: before
  // that it may not have exec'd yet.
  if (!start_brk && vm.brk)
    if (auto b = read_program_break(pid)) start_brk = b->start;
  auto rss = read_resident_memory(pid);
  if (!rss) return false;
  MemorySample s;
  s.t_s = t_s;
  s.rss_bytes = rss->rss_bytes;
  s.rss_anon_bytes = rss->rss_anon_bytes;
  s.heap_live_bytes = heap_live_bytes;
  // Unmaps of regions mapped before the trace are counted apart, so this
  // never goes below zero.
  s.mapped_anon_bytes = vm.mmap_bytes - vm.munmap_bytes;
  s.brk_bytes = vm.brk > start_brk ? vm.brk - start_brk : 0;
  s.allocation_calls = allocated.calls;
  s.allocation_bytes = allocated.bytes;
  timeline.push_back(s);
  return true;
}

}  // namespace memscope
