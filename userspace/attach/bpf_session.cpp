#include "attach/bpf_session.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "common/error.h"
#include "memscope.skel.h"
#include "target/api_names.h"

namespace memscope {
namespace {

int quiet_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_WARN) return vfprintf(stderr, fmt, args);
  return 0;
}
int verbose_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, args);
}

bpf_program* entry_program(memscope_bpf* s, unsigned api) {
  switch (api) {
    case MS_API_MALLOC: return s->progs.ms_malloc;
    case MS_API_CALLOC: return s->progs.ms_calloc;
    case MS_API_REALLOC: return s->progs.ms_realloc;
    case MS_API_REALLOCARRAY: return s->progs.ms_reallocarray;
    case MS_API_FREE: return s->progs.ms_free;
    case MS_API_POSIX_MEMALIGN: return s->progs.ms_posix_memalign;
    case MS_API_ALIGNED_ALLOC: return s->progs.ms_aligned_alloc;
    case MS_API_MEMALIGN: return s->progs.ms_memalign;
    case MS_API_VALLOC: return s->progs.ms_valloc;
    case MS_API_PVALLOC: return s->progs.ms_pvalloc;
  }
  return nullptr;
}

std::string load_failure(int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES)
    return "cannot load BPF programs: permission denied (run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE)";
  if (err == ENOSYS) return "this kernel has no BPF support (bpf() is not implemented)";
  return std::string("cannot load BPF programs: ") + strerror(err);
}

}  // namespace

BpfSession::BpfSession(const SessionLimits& limits, bool verbose) {
  libbpf_set_print(verbose ? verbose_print : quiet_print);
  // The kernel accounts BPF memory to the memory cgroup; RLIMIT_MEMLOCK
  // cannot be raised here and need not be.
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);

  if (syscall(__NR_bpf, -1, nullptr, 0) < 0 && errno == ENOSYS)
    throw Error(load_failure(ENOSYS));

  skel_ = memscope_bpf__open();
  if (!skel_) throw Error(load_failure(errno));
  bpf_map__set_max_entries(skel_->maps.events, limits.ringbuf_bytes);
  bpf_map__set_max_entries(skel_->maps.live, limits.live_entries);
  bpf_map__set_max_entries(skel_->maps.stacks, limits.stack_entries);
  bpf_map__set_max_entries(skel_->maps.sites, limits.max_sites);
  skel_->bss->max_sites = limits.max_sites;

  if (int err = memscope_bpf__load(skel_)) {
    memscope_bpf__destroy(skel_);
    skel_ = nullptr;
    throw Error(load_failure(err));
  }
}

BpfSession::~BpfSession() {
  detach_all();
  if (skel_) memscope_bpf__destroy(skel_);
}

void BpfSession::publish(const ms_config& config) {
  uint32_t slot = config.epoch & MS_EPOCH_MASK;
  skel_->bss->configs[slot] = config;
  // The slot must be complete before a probe can see its index.
  std::atomic_thread_fence(std::memory_order_release);
  __atomic_store_n(&skel_->bss->current_epoch, slot, __ATOMIC_RELEASE);
}

void BpfSession::attach(pid_t pid, const AllocatorTarget& alloc) {
  for (const auto& site : alloc.sites) {
    for (bool ret : {false, true}) {
      if (ret && !api_allocates(site.api)) continue;
      bpf_program* prog = ret ? skel_->progs.ms_alloc_ret : entry_program(skel_, site.api);
      LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = 0, .retprobe = ret);
      bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid, alloc.open_path.c_str(), site.offset, &opts);
      if (!link) {
        int err = errno;
        std::string why = strerror(err);
        if (err == EINVAL)
          why += " (another tool may hold a probe at the same address with a different ref_ctr_offset)";
        throw Error("cannot attach " + std::string(ret ? "uretprobe" : "uprobe") + " to " + site.symbol + " in " +
                    alloc.path + " for PID " + std::to_string(pid) + ": " + why);
      }
      links_.push_back(link);
      probes_.push_back({pid, site.api, site.symbol, alloc.path, site.offset, ret});
    }
  }
}

void BpfSession::detach_all() {
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
}

int BpfSession::events_fd() const { return bpf_map__fd(skel_->maps.events); }
int BpfSession::counts_fd() const { return bpf_map__fd(skel_->maps.counts); }
int BpfSession::stats_fd() const { return bpf_map__fd(skel_->maps.stats); }
int BpfSession::sites_fd() const { return bpf_map__fd(skel_->maps.sites); }
int BpfSession::stacks_fd() const { return bpf_map__fd(skel_->maps.stacks); }

std::vector<uint32_t> BpfSession::program_ids() const {
  std::vector<uint32_t> ids;
  bpf_program* p;
  bpf_object__for_each_program(p, skel_->obj) {
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len) == 0) ids.push_back(info.id);
  }
  return ids;
}

}  // namespace memscope
