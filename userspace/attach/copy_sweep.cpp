// BpfObject::sweep_copies: breakpoints taken out of the memory of children
// nobody traces (see bpf/processes.bpf.h ms_sweep).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "attach/bpf_object.h"
#include "attach/uprobe_multi.h"
#include "common/terminal_safe.h"
#include "memscope.skel.h"
#include "memscope/processes.h"

namespace memscope {

size_t BpfObject::sweep_copies(pid_t pid) {
  // The next fork of `pid` asks for a sweep again (bpf/processes.bpf.h).
  const uint32_t key = static_cast<uint32_t>(pid);
  const uint8_t followed = MS_FOLLOWED;
  bpf_map_update_elem(bpf_map__fd(skel_->maps.followed), &key, &followed, BPF_EXIST);
  auto it = session_sites_.find(pid);
  if (!session_links_ || it == session_sites_.end()) return 0;
  size_t swept = 0;
  for (const auto& [open_path, offsets] : it->second) {
    const std::vector<uint64_t> at(offsets.begin(), offsets.end()), cookies(offsets.size(), 0);
    // Filtered to the agent itself, which traps on them only while the
    // link exists (the parent may be gone; its children need not be
    // named): the release, deferred by the kernel, removes the breakpoints
    // from every memory whose remaining probes all refuse it.
    const int fd = create_uprobe_multi_link(bpf_program__fd(skel_->progs.ms_sweep), MS_BPF_TRACE_UPROBE_MULTI,
                                            open_path, at, cookies, getpid());
    if (fd < 0) {
      // Once (a storm of forks would repeat it): the children then keep
      // trapping there until the agent ends.
      if (!sweep_warned_ || verbose_)
        fprintf(stderr,
                "memscope-bpf: warning: cannot sweep PID %d's breakpoints out of its untraced children in %s (%s): "
                "they trap on those calls until tracing ends\n",
                pid, terminal_safe(open_path).c_str(), strerror(-fd));
      sweep_warned_ = true;
      continue;
    }
    close(fd);
    ++swept;
  }
  return swept;
}

void BpfObject::forget_sites(pid_t pid) {
  session_sites_.erase(pid);
  if (pid > 0)
    for (auto& sets : windowed_) std::erase_if(sets, [pid](const auto& w) { return w.first == pid; });
}

}  // namespace memscope
