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
#include "attach/uprobe_multi.h"
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

std::string load_failure(int err) {
  err = err < 0 ? -err : err;
  if (err == EPERM || err == EACCES)
    return "cannot load BPF programs: permission denied (run as root, or with CAP_BPF, CAP_PERFMON and CAP_SYS_RESOURCE)";
  if (err == ENOSYS) return "this kernel has no BPF support (bpf() is not implemented)";
  return std::string("cannot load BPF programs: ") + strerror(err);
}

}  // namespace

bool BpfSession::open_and_load(const SessionLimits& limits, bool with_session) {
  skel_ = memscope_bpf__open();
  if (!skel_) {
    load_error_ = errno;
    return false;
  }
  bpf_map__set_max_entries(skel_->maps.events, limits.ringbuf_bytes);
  bpf_map__set_max_entries(skel_->maps.live, limits.live_entries);
  bpf_map__set_max_entries(skel_->maps.stacks, limits.stack_entries);
  bpf_map__set_max_entries(skel_->maps.sites, limits.max_sites);
  skel_->bss->max_sites = limits.max_sites;
  if (with_session)
    bpf_program__set_expected_attach_type(skel_->progs.ms_session,
                                          static_cast<bpf_attach_type>(MS_BPF_TRACE_UPROBE_SESSION));
  else
    bpf_program__set_autoload(skel_->progs.ms_session, false);
  if (int err = memscope_bpf__load(skel_)) {
    load_error_ = err;
    memscope_bpf__destroy(skel_);
    skel_ = nullptr;
    return false;
  }
  session_ = with_session;
  return true;
}

BpfSession::BpfSession(const SessionLimits& limits, ProbeMode mode, bool verbose) {
  libbpf_set_print(verbose ? verbose_print : quiet_print);
  // The kernel accounts BPF memory to the memory cgroup; RLIMIT_MEMLOCK
  // cannot be raised here and need not be.
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);

  if (syscall(__NR_bpf, -1, nullptr, 0) < 0 && errno == ENOSYS) throw Error(load_failure(ENOSYS));

  const bool session_ok = kernel_has_uprobe_session();
  if (mode == ProbeMode::Session && !session_ok)
    throw Error("this kernel has no session uprobes (6.13+); use --probe-mode classic");
  bool loaded = false;
  if (mode != ProbeMode::Classic && session_ok) loaded = open_and_load(limits, true);
  // Classic probes where the kernel lacks sessions, or refused the session program.
  if (!loaded && mode != ProbeMode::Session) loaded = open_and_load(limits, false);
  if (!loaded) throw Error(load_failure(load_error_));
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
  if (session_) attach_session(pid, alloc);
  else attach_classic(pid, alloc);
}

void BpfSession::attach_session(pid_t pid, const AllocatorTarget& alloc) {
  std::vector<uint64_t> offsets, cookies;
  for (const auto& site : alloc.sites) {
    offsets.push_back(site.offset);
    cookies.push_back(ms_cookie(site.api, static_cast<uint32_t>(site.stack_delta)));
  }
  int fd = create_uprobe_multi_link(bpf_program__fd(skel_->progs.ms_session), MS_BPF_TRACE_UPROBE_SESSION,
                                    alloc.open_path, offsets, cookies, pid);
  if (fd < 0)
    throw Error("cannot attach session uprobes to " + alloc.path + " for PID " + std::to_string(pid) + ": " +
                strerror(-fd) + (fd == -EINVAL ? " (another tool may hold a probe there with a different ref_ctr_offset)" : ""));
  link_fds_.push_back(fd);
  for (const auto& site : alloc.sites)
    probes_.push_back({pid, site.api, site.symbol, alloc.path, site.offset, site.stack_delta, site.placement, "session"});
}

void BpfSession::attach_classic(pid_t pid, const AllocatorTarget& alloc) {
  for (const auto& site : alloc.sites) {
    for (bool ret : {false, true}) {
      if (ret && !api_allocates(site.api)) continue;
      bpf_program* prog = ret ? skel_->progs.ms_return : skel_->progs.ms_entry;
      LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = 0,
                  .bpf_cookie = ms_cookie(site.api, static_cast<uint32_t>(site.stack_delta)), .retprobe = ret);
      // Sites of allocating entry points are only ever moved past
      // instructions that leave the stack pointer alone, so the return
      // probe can hijack the return address at the same offset.
      uint64_t offset = site.offset;
      bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid, alloc.open_path.c_str(), offset, &opts);
      if (!link) {
        int err = errno;
        std::string why = strerror(err);
        if (err == EINVAL)
          why += " (another tool may hold a probe at the same address with a different ref_ctr_offset)";
        throw Error("cannot attach " + std::string(ret ? "uretprobe" : "uprobe") + " to " + site.symbol + " in " +
                    alloc.path + " for PID " + std::to_string(pid) + ": " + why);
      }
      links_.push_back(link);
      probes_.push_back({pid, site.api, site.symbol, alloc.path, offset, site.stack_delta, site.placement,
                         ret ? "uretprobe" : "uprobe"});
    }
  }
}

void BpfSession::detach_all() {
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
  for (int fd : link_fds_) close(fd);
  link_fds_.clear();
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
