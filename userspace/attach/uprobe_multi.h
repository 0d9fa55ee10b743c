// uprobe-multi and session links through the raw bpf(BPF_LINK_CREATE)
// call: Debian 12's libbpf 1.1 predates both. One link covers every offset
// of one object for one process.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace memscope {

// Returns the link fd, or -errno.
int create_uprobe_multi_link(int prog_fd, uint32_t attach_type, const std::string& path,
                             const std::vector<uint64_t>& offsets, const std::vector<uint64_t>& cookies, pid_t pid);

// True when the running kernel's BTF knows session uprobes (6.13+).
bool kernel_has_uprobe_session();

}  // namespace memscope
