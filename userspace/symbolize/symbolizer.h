// Turns return addresses into functions, modules and source lines with
// elfutils: libdwfl over each object file and its separate debug info
// (see object_symbols.h), keyed by the process's mappings. Mappings are snapshotted,
// and their files opened, while the process lives, so sites still resolve
// after it has exited, even when its files exist only in its own mount
// namespace (a container's root goes away with its last process). Each
// process's snapshots are kept with the times its mappings changed (exec,
// dlopen: maps_history.h), and an address is read against the mappings of
// when its call was made.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "symbolize/frame.h"
#include "symbolize/maps_history.h"
#include "targets/proc_maps.h"

namespace memscope {

class Symbolizer {
 public:
  // `debuginfo_path`: where separate debug files are searched, in
  // libdwfl's form (Dwfl_Callbacks::debuginfo_path); empty for its default,
  // ":.debug:/usr/lib/debug".
  explicit Symbolizer(std::string debuginfo_path = "");
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  // Re-reads /proc/PID/maps and opens every executable object it maps
  // while the process lives (through its /proc/PID/root, else its
  // map_files entry, checked to be the mapped file), so that its addresses
  // still resolve after it has exited, in a container whose root is gone
  // or with the file since deleted or replaced. Earlier snapshots are kept
  // for the addresses of earlier calls. Returns false when no snapshot
  // exists at all.
  bool snapshot(pid_t pid);
  bool has_snapshot(pid_t pid) const;
  // The process's mappings changed at `when_ns` (CLOCK_MONOTONIC, the
  // kernel's time of the exec or dlopen).
  void maps_changed(pid_t pid, uint64_t when_ns, MapsHistory::Change kind);
  // A forked child gone before its maps could be read (it ran and exited
  // within the agent's reaction time): it was a copy of `parent`, whose
  // snapshot stands for it. Returns false when neither has one.
  bool snapshot_or_copy(pid_t pid, pid_t parent);

  // `address` is a return address: the call instruction is just before it;
  // the call was made at `when_ns` (CLOCK_MONOTONIC; the default: now).
  // One frame per function at it, innermost first: the functions inlined
  // there (marked `inlined`), then the function that contains them.
  std::vector<Frame> symbolize(pid_t pid, uint64_t address, uint64_t when_ns = UINT64_MAX);

 private:
  struct Module;
  Module* module_for(pid_t pid, const Mapping& map);
  std::vector<Frame> resolve(pid_t pid, const Mapping* map, uint64_t address);

  std::string debuginfo_path_;
  std::map<pid_t, MapsHistory> maps_;
  // Sites share most of their frames; each address is resolved once per
  // snapshot that maps it (and each object address once for all
  // processes, in ObjectSymbols).
  std::map<std::tuple<pid_t, size_t, uint64_t>, std::vector<Frame>> resolved_;
  // By file identity (device and inode from the maps), not by path: one
  // object mapped by many processes is read once, and the same path names
  // different files in different mount namespaces; nullptr: could not be read.
  std::map<std::string, std::unique_ptr<Module>> modules_;
};

}  // namespace memscope
