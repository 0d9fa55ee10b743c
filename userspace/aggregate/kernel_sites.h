// Call sites as the kernel numbered them, with their return addresses: the
// immediate caller (read at the stack pointer on entry) followed by the
// frames the CFI walk found, as the map owner (attach/kernel_maps) reads them
// before the BPF maps go away.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace memscope {

struct SiteStack {
  uint32_t tgid = 0;
  std::vector<uint64_t> frames;  // return addresses, innermost first
  bool truncated = false;        // the stack is cut before its outermost frame (why: truncated_reason)
  bool depth_limited = false;    // the walk stopped at MS_MAX_STACK_DEPTH entries: outer frames are missing
  std::string truncated_reason;  // empty, or walk_stop_name() / "not_stored" (stack table full)
};

// The report's name of an enum ms_walk_stop.
const char* walk_stop_name(uint32_t stop);

using SiteStacks = std::unordered_map<uint32_t, SiteStack>;

// Builds a site's frames from the stack map's trace, whose first entry is
// the probed function itself, and the caller read at the stack pointer.
// Kernels that already add the caller at function entry (6.12+, for a
// `push %rbp` site) are handled by not repeating it.
std::vector<uint64_t> site_frames(uint64_t caller, const uint64_t* trace, size_t depth);

// A site as the kernel stored it: its process, the caller read at the stack
// pointer, the walked stack's first `depth` entries (0: none stored) and why
// the walk stopped (enum ms_walk_stop).
SiteStack site_stack(uint32_t tgid, uint64_t caller, const uint64_t* ips, size_t depth, uint32_t stop);

}  // namespace memscope
