// Which object serves malloc in a target, and where its entry points are.
// The dynamic linker binds malloc to the first object in its lookup scope
// that defines it (the executable, LD_PRELOAD, then libraries breadth-first),
// so that is the object probed, whatever its path.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "targets/proc_maps.h"

namespace memscope {

struct ProbeSite {
  unsigned api = 0;  // the name the calls are counted under
  std::string symbol;
  std::string path;               // the object defining it, as the process sees it
  std::string open_path;          // the same, as the agent reaches it
  uint64_t vaddr = 0;             // in the object's own address space
  uint64_t offset = 0;            // file offset, what a uprobe is attached at
  int32_t stack_delta = 0;        // bytes pushed before the probed instruction
  std::string placement;          // why the probe sits at this offset
  bool keep_return = false;       // may enter another entry point: never skip its return
  std::vector<unsigned> aliases;  // other entry points at the same address
  // Further sites of a release entry point that needs no return probe,
  // for other processes' own probes: processes probed at the same sites
  // with session links each pay a return trap per call
  // (ProcessTracker::warn_shared_sites). An allocating entry point has no
  // such site: its return probe needs [rsp] to hold the return address.
  struct Alternate {
    uint64_t offset = 0;  // file offset
    int32_t stack_delta = 0;
    std::string placement;
  };
  std::vector<Alternate> alternates;
};

struct AllocatorTarget {
  std::string path;       // the object serving malloc, as the process sees it
  std::string open_path;  // as the agent reaches it (through /proc/PID/root)
  std::vector<ProbeSite> sites;
  std::vector<unsigned> missing;  // entry points this allocator does not define
  // api -> the api whose probe counts its calls (itself, or the alias that
  // shares its address).
  std::map<unsigned, unsigned> counted_as;
  // When no object serves malloc: why, if more is known than that (a
  // static executable stripped of its symbol table).
  std::string why_none;
  // The process's slot in the kernel's per-process arrays, carried in the
  // cookie of probes filtered to that process (0: none).
  uint32_t proc_slot = 0;
  // The objects the dynamic linker loaded at start (its lookup scope), as
  // the agent reaches them: any other object is one loaded later (dlopen).
  std::vector<std::string> scope;
};

// A probe as attached (attach/ fills it in), for the report's probes[].
struct AttachedProbe {
  pid_t pid = 0;  // 0: every process that maps the object (--all)
  unsigned api = 0;
  std::string symbol;
  std::string path;
  uint64_t offset = 0;
  int32_t stack_delta = 0;
  std::string placement;  // why the probe sits at this offset
  std::string kind;       // "uprobe", "uretprobe" or "session"
};

// For a running process: the lookup scope from its maps, executable and
// environment. Throws Error naming the process when nothing defines malloc.
AllocatorTarget find_allocator(pid_t pid, const std::string& exe);

// For a command about to be started: the scope the dynamic linker will
// build (its own `--list` mode), with the command's environment.
AllocatorTarget find_allocator_for_command(const std::string& exe_path, char* const envp[]);

// The entry points one object loaded later (dlopen) defines and exports,
// whether or not it defines malloc (a dlopen'd libstdc++ brings only the
// C++ operators): calls through dlsym, and its own calls bound to itself,
// reach them. No sites when it defines none; throws Error when it cannot
// be read.
AllocatorTarget object_entry_points(const std::string& path, const std::string& open_path);

// Where probes go. Smart: on the first instruction the kernel emulates at
// which the arguments are intact (Capstone, per binary); entry: offset 0.
enum class PlacementMode { Smart, Entry };

// Moves each site per `mode`. A site that needs a return probe is only
// moved past instructions that leave the stack pointer alone, so that the
// return address is where the return probe hijacks it.
void place_probes(AllocatorTarget& target, PlacementMode mode);

// Shared by both: the first object of `scope` (open paths, in lookup order)
// that defines malloc.
AllocatorTarget pick_allocator(const std::vector<std::pair<std::string, std::string>>& scope);

}  // namespace memscope
