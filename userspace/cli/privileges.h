#pragma once
namespace memscope {
// Throws Error unless the process may load BPF programs and attach uprobes:
// CAP_SYS_ADMIN, or CAP_BPF with CAP_PERFMON.
void check_privileges();
}  // namespace memscope
