#include "common/capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/error.h"

namespace memscope {

uint64_t effective_capabilities() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) throw Error("cannot read this process's capabilities");
  return (static_cast<uint64_t>(data[1].effective) << 32) | data[0].effective;
}

}  // namespace memscope
