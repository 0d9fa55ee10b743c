#include "attach/uprobe_multi.h"

#include <bpf/btf.h>
#include <linux/bpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace memscope {
namespace {

// The link_create part of union bpf_attr as of Linux 6.6+, laid out by hand
// because the installed uapi header is older.
struct LinkCreateUprobeMulti {
  uint32_t prog_fd;
  uint32_t target_fd;
  uint32_t attach_type;
  uint32_t flags;
  uint64_t path;
  uint64_t offsets;
  uint64_t ref_ctr_offsets;
  uint64_t cookies;
  uint32_t cnt;
  uint32_t multi_flags;
  uint32_t pid;
  uint32_t pad;
};
static_assert(sizeof(LinkCreateUprobeMulti) == 64);

}  // namespace

int create_uprobe_multi_link(int prog_fd, uint32_t attach_type, const std::string& path,
                             const std::vector<uint64_t>& offsets, const std::vector<uint64_t>& cookies, pid_t pid) {
  union {
    LinkCreateUprobeMulti link;
    char bytes[sizeof(bpf_attr)];
  } attr;
  static_assert(sizeof(LinkCreateUprobeMulti) <= sizeof(bpf_attr));
  std::memset(&attr, 0, sizeof attr);
  attr.link.prog_fd = static_cast<uint32_t>(prog_fd);
  attr.link.attach_type = attach_type;
  attr.link.path = reinterpret_cast<uint64_t>(path.c_str());
  attr.link.offsets = reinterpret_cast<uint64_t>(offsets.data());
  attr.link.cookies = reinterpret_cast<uint64_t>(cookies.data());
  attr.link.cnt = static_cast<uint32_t>(offsets.size());
  attr.link.pid = static_cast<uint32_t>(pid);
  int fd = static_cast<int>(syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof attr));
  return fd < 0 ? -errno : fd;
}

bool kernel_has_uprobe_session() {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (!vmlinux) return false;
  bool found = false;
  int id = btf__find_by_name_kind(vmlinux, "bpf_attach_type", BTF_KIND_ENUM);
  if (id > 0) {
    const btf_type* t = btf__type_by_id(vmlinux, id);
    const struct btf_enum* e = btf_enum(t);
    for (int i = 0; i < btf_vlen(t); ++i, ++e)
      if (std::strcmp(btf__name_by_offset(vmlinux, e->name_off), "BPF_TRACE_UPROBE_SESSION") == 0) found = true;
  }
  // The session kfunc must exist too.
  found = found && btf__find_by_name_kind(vmlinux, "bpf_session_is_return", BTF_KIND_FUNC) > 0;
  btf__free(vmlinux);
  return found;
}

}  // namespace memscope
