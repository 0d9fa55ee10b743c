#include "aggregate/kernel_sites.h"

#include <algorithm>

#include "memscope/record.h"

namespace memscope {

std::vector<uint64_t> site_frames(uint64_t caller, const uint64_t* trace, size_t depth) {
  std::vector<uint64_t> frames;
  if (caller) frames.push_back(caller);
  for (size_t i = 1; i < depth && trace[i]; ++i) {
    if (i == 1 && trace[i] == caller) continue;
    frames.push_back(trace[i]);
  }
  return frames;
}

SiteStack site_stack(uint32_t tgid, uint64_t caller, const uint64_t* ips, size_t depth) {
  SiteStack s;
  s.tgid = tgid;
  s.truncated = depth == 0;
  s.depth_limited = depth == MS_MAX_STACK_DEPTH;
  s.frames = site_frames(caller, ips, depth);
  return s;
}

}  // namespace memscope
