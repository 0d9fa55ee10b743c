// Where libbpf's own messages go, for every program here that loads BPF
// objects (the agent and the overhead benchmark's floor): one policy, so the
// two never disagree on what a user sees.
#pragma once

namespace memscope {

// Routes libbpf's messages to stderr: warnings only, or with `verbose`
// everything but libbpf's debug output. Also turns on libbpf's strict mode:
// BPF memory is charged to the memory cgroup, and RLIMIT_MEMLOCK cannot be
// raised on these machines and need not be.
void route_libbpf_messages(bool verbose);

}  // namespace memscope
