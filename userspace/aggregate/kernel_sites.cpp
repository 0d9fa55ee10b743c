#include "aggregate/kernel_sites.h"

#include <bpf/bpf.h>

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

SiteStacks read_site_stacks(int sites_fd, int stacks_fd) {
  SiteStacks out;
  ms_site_key key{}, next{};
  ms_site_key* prev = nullptr;
  ms_stack stack{};
  while (bpf_map_get_next_key(sites_fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    uint32_t id;
    if (bpf_map_lookup_elem(sites_fd, &key, &id)) continue;
    SiteStack s;
    s.tgid = key.tgid;
    size_t depth = 0;
    if (key.has_stack && bpf_map_lookup_elem(stacks_fd, &key.stack, &stack) == 0)
      depth = std::min<size_t>(stack.depth, MS_MAX_STACK_DEPTH);
    s.depth_limited = depth == MS_MAX_STACK_DEPTH;
    // Cut short: not stored at all, or a walk that stopped before the
    // outermost frame for a reason other than its depth (said apart).
    if (depth == 0) s.truncated_reason = "not_stored";
    else if (stack.stop != MS_WALK_END && !s.depth_limited) s.truncated_reason = walk_stop_name(stack.stop);
    s.truncated = !s.truncated_reason.empty();
    uint64_t trace[MS_MAX_STACK_DEPTH];
    std::copy(std::begin(stack.ips), std::end(stack.ips), trace);
    s.frames = site_frames(key.caller, trace, depth);
    out[id] = std::move(s);
  }
  return out;
}

}  // namespace memscope
