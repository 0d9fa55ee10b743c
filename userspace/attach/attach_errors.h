// What a refused load or attach means, in words a user can act on.
#pragma once
#include <string>

namespace memscope {

// strerror, and for a refused perf uprobe what it takes: the kernel keeps
// them to CAP_SYS_ADMIN (upstream ba677dbe77af, 2025), where session links
// and tracefs events need only CAP_BPF and CAP_PERFMON (docs/safety.md#privileges).
std::string uprobe_failure(int err);

// The one-line error for a BPF object that would not load (err: errno,
// either sign).
std::string load_failure(int err);

}  // namespace memscope
