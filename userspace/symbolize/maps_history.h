// The executable mappings of one process over time, so that a return
// address is read against the objects that were mapped when the call was
// made, not those mapped at the end: a process that execs runs another
// program at the same addresses, and a library unloaded (dlclose) leaves its
// addresses to the next one loaded (dlopen), which the kernel often puts
// exactly where the last one was.
//
// Snapshots are read while tracing runs (at start, at each dlopen and exec,
// when new sites arrive), each stamped with the CLOCK_MONOTONIC time it was
// taken; the kernel stamps the changes (exec, dlopen) with the same clock.
// A dlopen's change is timed at its start (the linker's RT_ADD, before it
// maps anything). Between two changes (an epoch) objects can only go away
// (dlclose).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "targets/proc_maps.h"

namespace memscope {

class MapsHistory {
 public:
  enum class Change {
    exec,  // every mapping replaced: nothing before holds after
    load,  // objects added (dlopen), perhaps where others were removed since the last
  };

  // A snapshot taken at `taken_ns` (before /proc/PID/maps was read; never
  // before the latest, which it follows). Kept only if it differs from the
  // latest or the mappings changed since that was taken; returns whether
  // it was.
  bool add(uint64_t taken_ns, std::vector<Mapping> maps);
  // The latest snapshot of `other` (a forked child's parent) as this
  // process's own, at time 0, when it has none: it stands for the mappings
  // until a change.
  void copy_latest(const MapsHistory& other);
  void changed(uint64_t when_ns, Change kind);

  bool empty() const { return snapshots_.empty(); }
  size_t snapshots() const { return snapshots_.size(); }

  struct Found {
    const Mapping* map = nullptr;
    size_t snapshot = 0;  // its index, stable: snapshots are only added
  };
  // The mapping that held `address` at `when_ns`: from the snapshots of
  // that epoch, the last taken at or before `when_ns` that maps it, else
  // the first after (which may already hold what the next dlopen maps if
  // its start is unknown: the first report after attaching); else from
  // those of earlier epochs back to the last exec, newest first (an object
  // loaded before a dlopen is still there unless it was unloaded). Never
  // from a later epoch, whose objects may have replaced it. nullopt: none
  // is known.
  std::optional<Found> find(uint64_t address, uint64_t when_ns) const;

 private:
  struct Snapshot {
    uint64_t taken_ns = 0;
    std::shared_ptr<const std::vector<Mapping>> maps;
  };
  std::vector<Snapshot> snapshots_;                   // by time taken
  std::vector<std::pair<uint64_t, Change>> changes_;  // by time
};

}  // namespace memscope
