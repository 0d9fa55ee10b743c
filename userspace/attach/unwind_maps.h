// Loads unwind tables into the kernel's maps: each object's rows into its
// own slice of the rows array (mapped into the agent, so a table of a
// million rows is a memcpy, not a million syscalls), then the object's
// entry, which makes the BPF walk use them. An object is loaded once, for
// every process that maps it, keyed as the kernel names its file (which
// /proc/PID/maps does not on overlayfs: attach/mapped_files.h).
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "memscope/unwind.h"
#include "targets/proc_maps.h"

struct bpf_program;

namespace memscope {

struct UnwindLoadStats {
  uint64_t objects = 0;      // objects with rows in the kernel
  uint64_t without_cfi = 0;  // objects loaded with no rows (no CFI, unreadable)
  uint64_t rows = 0;         // rows in use
  uint64_t rows_full = 0;    // objects left out: the rows array was full
  double build_ms = 0;       // time spent building tables
};

class UnwindMaps {
 public:
  // `rows_fd`: the BPF_F_MMAPABLE array of ms_unwind_row, `capacity` rows;
  // `mapped_files`: the ms_mapped_files iterator (null: the maps' names).
  // Throws Error when the array cannot be mapped.
  UnwindMaps(int objects_fd, int rows_fd, uint32_t capacity, const bpf_program* mapped_files);
  ~UnwindMaps();
  UnwindMaps(const UnwindMaps&) = delete;
  UnwindMaps& operator=(const UnwindMaps&) = delete;

  // Loads the table of every executable file mapping of `pid` in `maps` not
  // loaded yet; returns how many objects were new. Never throws: an object
  // whose table cannot be built is loaded without rows (the walk stops
  // there with MS_WALK_NO_TABLE).
  size_t load(pid_t pid, const std::vector<Mapping>& maps);
  // The same, reading the process's maps (nothing when it is gone).
  size_t load(pid_t pid);

  const UnwindLoadStats& stats() const { return stats_; }

 private:
  void load_object(pid_t pid, const Mapping& m, const ms_unwind_key& key);

  int objects_fd_;
  const bpf_program* mapped_files_;
  uint32_t capacity_;
  void* rows_ = nullptr;  // the mapped rows array
  size_t mapped_bytes_ = 0;
  uint32_t next_row_ = 0;
  std::set<std::pair<uint64_t, uint64_t>> loaded_;  // (kernel dev, inode)
  UnwindLoadStats stats_;
};

// The kernel's dev_t (major << 20 | minor) of a maps line's "major:minor".
uint64_t kernel_dev(const std::string& maps_dev);

}  // namespace memscope
