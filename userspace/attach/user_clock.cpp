#include "attach/user_clock.h"

#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>


namespace memscope {
namespace {

int open_cpu_clock(int cpu, uint64_t period_ns) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = PERF_TYPE_SOFTWARE;
  attr.config = PERF_COUNT_SW_CPU_CLOCK;
  attr.sample_period = period_ns;  // cpu-clock counts nanoseconds
  attr.exclude_hv = 1;
  // The timer still fires on an idle CPU (one interrupt per period per
  // online CPU); this only drops the sample there.
  attr.exclude_idle = 1;
  return static_cast<int>(syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC));
}

}  // namespace

std::string UserClockEvents::start(bpf_program* prog, uint64_t period_ns) {
  if (running()) return {};
  const int ncpu = libbpf_num_possible_cpus();
  std::string why;
  for (int cpu = 0; cpu < ncpu; ++cpu) {
    const int fd = open_cpu_clock(cpu, period_ns);
    if (fd < 0) {
      if (errno == ENODEV) continue;  // a possible CPU that is not online
      why = std::string("perf_event_open(cpu-clock): ") + strerror(errno);
      break;
    }
    bpf_link* link = bpf_program__attach_perf_event(prog, fd);
    if (!link) {
      why = std::string("attaching the clock's program: ") + strerror(errno);
      close(fd);
      break;
    }
    links_.push_back(link);
  }
  if (why.empty() && links_.empty()) why = "no CPU online";
  if (!why.empty()) stop();
  return why;
}

void UserClockEvents::stop() {
  // A perf-event link closes its event with it.
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
}

}  // namespace memscope
