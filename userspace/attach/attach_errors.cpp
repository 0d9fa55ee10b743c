#include "attach/attach_errors.h"

#include <linux/capability.h>

#include <cerrno>
#include <cstring>

#include "common/capabilities.h"

namespace memscope {

std::string uprobe_failure(int err) {
  std::string why = strerror(err);
  if ((err == EACCES || err == EPERM) && !holds_capability(effective_capabilities(), CAP_SYS_ADMIN))
    why += " (perf uprobes need CAP_SYS_ADMIN)";
  return why;
}

std::string load_failure(int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES)
    return "cannot load BPF programs: permission denied (run as root, or with CAP_BPF and CAP_PERFMON)";
  if (err == ENOSYS) return "this kernel has no BPF support (bpf() is not implemented)";
  return std::string("cannot load BPF programs: ") + strerror(err);
}

}  // namespace memscope
