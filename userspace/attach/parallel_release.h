// Takes probe links and perf events down several at a time. Closing the
// last perf event of a uprobe waits for the kernel's grace periods (~0.1 s
// on these hosts) under a mutex the kernel holds for every such close, so
// those waits stay one after another; what comes around them (the program
// detached from the event, the other events of the same uprobe, the links
// of other probes) overlaps: 29 inherited probes came down in 2.6-2.8 s
// instead of 3.7 (docs/measurements.md#follow-children-cost-and-exit).
#pragma once
#include <cstddef>
#include <vector>

struct bpf_link;

namespace memscope {

// Destroys every link and closes every descriptor, on up to `max_workers`
// threads (here when no thread can be started), and empties both.
void release_in_parallel(std::vector<bpf_link*>& links, std::vector<int>& fds, size_t max_workers);

}  // namespace memscope
