// Who else holds a uprobe at an address: the kernel refuses a second uprobe
// at one file offset when the two disagree on ref_ctr_offset (some tools
// pass a non-zero one for plain functions), and the attach fails with a
// bare EINVAL. Naming the other tool turns that into an actionable error.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

// "PID 123 (memleak-bpfcc)" for every process whose perf-event uprobe sits
// at `offset` of `path` (compared by file identity), comma-separated;
// empty when none is found.
std::string uprobe_holders(const std::string& path, uint64_t offset);

// What to add to the message of an attach at `offsets` of `path` that failed
// with EINVAL, which in practice is another tool's uprobe at the same offset
// with a different ref_ctr_offset: " (PID 123 (memleak-bpfcc) holds a uprobe at the same
// address ...)", or a generic hint when no holder is found.
std::string conflict_hint(const std::string& path, const std::vector<uint64_t>& offsets);

}  // namespace memscope
