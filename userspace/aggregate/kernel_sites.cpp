#include "aggregate/kernel_sites.h"

#include <algorithm>

#include "memscope/record.h"
#include "memscope/unwind.h"

namespace memscope {

const char* walk_stop_name(uint32_t stop) {
  switch (stop) {
    case MS_WALK_END:
      return "end";
    case MS_WALK_NO_TABLE:
      return "no_table";
    case MS_WALK_NO_CFI:
      return "no_cfi";
    case MS_WALK_UNREADABLE:
      return "unreadable";
    case MS_WALK_DEPTH:
      return "depth";
    case MS_WALK_UNKNOWN_RULE:
      return "unknown_rule";
    default:
      return "unknown";
  }
}

std::vector<uint64_t> site_frames(uint64_t caller, const uint64_t* trace, size_t depth) {
  std::vector<uint64_t> frames;
  if (caller) frames.push_back(caller);
  for (size_t i = 1; i < depth && trace[i]; ++i) {
    if (i == 1 && trace[i] == caller) continue;
    frames.push_back(trace[i]);
  }
  return frames;
}

SiteStack site_stack(uint32_t tgid, uint64_t caller, const uint64_t* ips, size_t depth, uint32_t stop) {
  SiteStack s;
  s.tgid = tgid;
  s.depth_limited = depth == MS_MAX_STACK_DEPTH;
  // Cut short: not stored at all, or a walk that stopped before the
  // outermost frame for a reason other than its depth (said apart).
  if (depth == 0) s.truncated_reason = "not_stored";
  else if (stop != MS_WALK_END && !s.depth_limited) s.truncated_reason = walk_stop_name(stop);
  s.truncated = !s.truncated_reason.empty();
  s.frames = site_frames(caller, ips, depth);
  return s;
}

}  // namespace memscope
