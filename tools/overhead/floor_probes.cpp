#include <map>
#include "floor_probes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstring>

#include "attach/uprobe_multi.h"
#include "common/error.h"
#include "floor.skel.h"
#include "memscope/record.h"
#include "targets/api_names.h"

namespace memscope::overhead {
namespace {

int warnings_only(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_WARN) return vfprintf(stderr, fmt, args);
  return 0;
}
int all_but_debug(enum libbpf_print_level level, const char* fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  return vfprintf(stderr, fmt, args);
}

std::string attach_failure(int err) {
  std::string why = strerror(err);
  // The same hint memscope-bpf gives: a probe of another tool at the same
  // address with a different ref_ctr_offset makes the kernel refuse ours.
  if (err == EINVAL) why += " (another tool may hold a probe there with a different ref_ctr_offset)";
  return why;
}

}  // namespace

FloorProbes::FloorProbes(FloorMode mode, FloorLink link, bool verbose) : mode_(mode) {
  libbpf_set_print(verbose ? all_but_debug : warnings_only);
  // BPF memory is charged to the memory cgroup; RLIMIT_MEMLOCK cannot be
  // raised on these machines and need not be.
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);

  const bool session_ok = kernel_has_uprobe_session();
  if (mode == FloorMode::Session && !session_ok)
    throw Error("this kernel has no session uprobes (6.13+): no session floor");
  if (mode == FloorMode::Session) multi_ = true;
  if (mode == FloorMode::EntryOnly) multi_ = link == FloorLink::Multi || (link == FloorLink::Auto && session_ok);

  skel_ = floor_bpf__open();
  if (!skel_) throw Error(std::string("cannot open the floor BPF object: ") + strerror(errno));
  // Load only the programs this mode attaches, with the attach type their
  // link needs (libbpf 1.1 has no section names for multi or session).
  bpf_program__set_autoload(skel_->progs.floor_entry,
                            mode == FloorMode::Classic || (mode == FloorMode::EntryOnly && !multi_));
  bpf_program__set_autoload(skel_->progs.floor_return, mode == FloorMode::Classic);
  bpf_program__set_autoload(skel_->progs.floor_multi, mode == FloorMode::EntryOnly && multi_);
  bpf_program__set_autoload(skel_->progs.floor_session, mode == FloorMode::Session);
  bpf_program__set_expected_attach_type(skel_->progs.floor_multi,
                                        static_cast<bpf_attach_type>(MS_BPF_TRACE_UPROBE_MULTI));
  bpf_program__set_expected_attach_type(skel_->progs.floor_session,
                                        static_cast<bpf_attach_type>(MS_BPF_TRACE_UPROBE_SESSION));
  if (int err = floor_bpf__load(skel_)) {
    floor_bpf__destroy(skel_);
    skel_ = nullptr;
    err = err < 0 ? -err : err;
    throw Error(std::string("cannot load the floor BPF programs: ") + strerror(err) +
                (err == EPERM || err == EACCES ? " (run as root)" : ""));
  }
}

FloorProbes::~FloorProbes() {
  for (bpf_link* l : links_) bpf_link__destroy(l);
  for (int fd : link_fds_) close(fd);
  if (skel_) floor_bpf__destroy(skel_);
}

const char* FloorProbes::mechanism() const {
  switch (mode_) {
    case FloorMode::Classic:
      return "uprobe+uretprobe";
    case FloorMode::EntryOnly:
      return multi_ ? "uprobe-multi (entry only)" : "uprobe (entry only)";
    case FloorMode::Session:
      return "uprobe-session (every return skipped)";
  }
  return "";
}

void FloorProbes::attach(pid_t pid, const AllocatorTarget& alloc) {
  switch (mode_) {
    case FloorMode::Classic:
      attach_perf(pid, alloc, true);
      break;
    case FloorMode::EntryOnly:
      if (multi_)
        attach_multi(pid, alloc, bpf_program__fd(skel_->progs.floor_multi), MS_BPF_TRACE_UPROBE_MULTI, "uprobe-multi");
      else attach_perf(pid, alloc, false);
      break;
    case FloorMode::Session:
      attach_multi(pid, alloc, bpf_program__fd(skel_->progs.floor_session), MS_BPF_TRACE_UPROBE_SESSION, "session");
      break;
  }
}

// As memscope-bpf's classic attach: same offsets, same cookies (the kernel
// passes them whether or not the program reads them), ref_ctr_offset 0, and
// the return probe at the entry site's offset.
void FloorProbes::attach_perf(pid_t pid, const AllocatorTarget& alloc, bool with_returns) {
  for (const auto& site : alloc.sites) {
    for (bool ret : {false, true}) {
      if (ret && (!with_returns || !api_allocates(site.api))) continue;
      bpf_program* prog = ret ? skel_->progs.floor_return : skel_->progs.floor_entry;
      LIBBPF_OPTS(bpf_uprobe_opts, opts, .ref_ctr_offset = 0,
                  .bpf_cookie = ms_cookie(site.api, static_cast<uint32_t>(site.stack_delta), site.keep_return),
                  .retprobe = ret);
      bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid, site.open_path.c_str(), site.offset, &opts);
      if (!link)
        throw Error("cannot attach " + std::string(ret ? "uretprobe" : "uprobe") + " to " + site.symbol + " in " +
                    alloc.path + " for PID " + std::to_string(pid) + ": " + attach_failure(errno));
      links_.push_back(link);
      probes_.push_back({site.symbol, site.offset, site.stack_delta, ret ? "uretprobe" : "uprobe"});
    }
  }
}

// One link per object, as memscope-bpf's session attach (the entry points
// may live in more than one object).
void FloorProbes::attach_multi(pid_t pid, const AllocatorTarget& alloc, int prog_fd, uint32_t attach_type,
                               const char* kind) {
  std::map<std::string, std::vector<const ProbeSite*>> by_object;
  for (const auto& site : alloc.sites) by_object[site.open_path].push_back(&site);
  for (const auto& [open_path, group] : by_object) {
    std::vector<uint64_t> offsets, cookies;
    for (const ProbeSite* site : group) {
      offsets.push_back(site->offset);
      cookies.push_back(ms_cookie(site->api, static_cast<uint32_t>(site->stack_delta), site->keep_return));
    }
    int fd = create_uprobe_multi_link(prog_fd, attach_type, open_path, offsets, cookies, pid);
    if (fd < 0)
      throw Error(std::string("cannot attach ") + kind + " probes to " + group.front()->path + " for PID " +
                  std::to_string(pid) + ": " + attach_failure(-fd));
    link_fds_.push_back(fd);
    for (const ProbeSite* site : group) probes_.push_back({site->symbol, site->offset, site->stack_delta, kind});
  }
}

}  // namespace memscope::overhead
