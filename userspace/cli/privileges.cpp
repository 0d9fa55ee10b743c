#include "cli/privileges.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

namespace memscope {

void check_privileges() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) throw Error("cannot read this process's capabilities");
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1; };
  if (has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))) return;
  throw Error(
      "needs root: loading BPF programs and attaching uprobes takes CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON (try "
      "sudo)");
}

}  // namespace memscope
