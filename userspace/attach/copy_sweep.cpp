// BpfObject::sweep_copies: breakpoints taken out of the memory of children
// nobody traces (see bpf/processes.bpf.h ms_sweep).
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "attach/bpf_object.h"
#include "attach/uprobe_multi.h"
#include "memscope.skel.h"

namespace memscope {

size_t BpfObject::sweep_copies(pid_t pid) {
  auto it = session_sites_.find(pid);
  if (!session_links_ || it == session_sites_.end()) return 0;
  size_t swept = 0;
  for (const auto& [open_path, offsets] : it->second) {
    const std::vector<uint64_t> at(offsets.begin(), offsets.end()), cookies(offsets.size(), 0);
    // Filtered to the parent, which has the breakpoints already: installing
    // changes no memory; the release (deferred by the kernel) removes them
    // from every memory whose probes all refuse it.
    const int fd = create_uprobe_multi_link(bpf_program__fd(skel_->progs.ms_sweep), MS_BPF_TRACE_UPROBE_MULTI,
                                            open_path, at, cookies, pid);
    if (fd < 0) {
      if (verbose_)
        fprintf(stderr, "memscope-bpf: cannot sweep the breakpoints of PID %d's children in %s: %s\n", pid,
                open_path.c_str(), strerror(-fd));
      continue;
    }
    close(fd);
    ++swept;
  }
  return swept;
}

}  // namespace memscope
