// Where a process's dynamic linker tells debuggers that its list of
// objects changed: _dl_debug_state, the r_brk of glibc's struct r_debug,
// called before and after every dlopen and dlclose. A uprobe there tells
// the agent of new objects without polling /proc.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace memscope {

struct LinkerHook {
  std::string path;       // the dynamic linker, as the process sees it
  std::string open_path;  // as the agent reaches it (through /proc/PID/root)
  uint64_t offset = 0;    // file offset of _dl_debug_state
  // Where _r_debug lies from _dl_debug_state (virtual addresses in the
  // file, so the same in every process): the probe reads r_state there and
  // reports only the calls that end an addition. 0: unknown, report all.
  int64_t r_debug_delta = 0;
  uint64_t r_debug_address = 0;  // _r_debug in the process (0: unknown)
};

// The process's dynamic linker is the object mapped at its auxiliary
// vector's AT_BASE. None for a static executable (AT_BASE is 0), a process
// that is gone, or a linker without the hook.
std::optional<LinkerHook> find_linker_hook(pid_t pid);

// True once the process's dynamic linker has loaded the program's
// libraries (r_version set, r_state RT_CONSISTENT, a link map): its maps
// then hold the whole start-up scope. False while it has not run (just
// after exec) or is loading, or when _r_debug cannot be read.
bool linker_started(pid_t pid, const LinkerHook& hook);

}  // namespace memscope
