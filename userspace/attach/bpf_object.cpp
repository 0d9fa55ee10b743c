#include "attach/bpf_object.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <chrono>
#include <system_error>
#include <thread>

#include "common/error.h"
#include "memscope.skel.h"
#include "memscope/vm_counts.h"
#include "attach/attach_errors.h"
#include "attach/libbpf_log.h"
#include "attach/parallel_release.h"
#include "attach/probe_holders.h"
#include "attach/uprobe_multi.h"
#include "targets/api_names.h"

namespace memscope {

bool BpfObject::open_and_load(const BpfLimits& limits, bool with_session) {
  skel_ = memscope_bpf__open();
  if (!skel_) {
    load_error_ = errno;
    return false;
  }
  bpf_map__set_max_entries(skel_->maps.events, limits.ringbuf_bytes);
  bpf_map__set_max_entries(skel_->maps.live, limits.live_entries);
  bpf_map__set_max_entries(skel_->maps.stacks, limits.stack_entries);
  bpf_map__set_max_entries(skel_->maps.sites, limits.max_sites);
  bpf_map__set_max_entries(skel_->maps.unwind_rows, limits.unwind_rows);
  skel_->bss->max_sites = limits.max_sites;
  // One filter slot per live entry (a power of two), up to 2^19 (2 MiB):
  // every free reads its slot, and a larger filter made that read a cache
  // miss often enough to cost more than the hash deletes it saves
  // (docs/measurements.md#where-the-time-beyond-the-trap-goes). Beyond 2^19
  // sampled blocks live a free of an unsampled block finds its slot set
  // more often than not, and pays a hash delete for nothing. A byte per
  // slot instead of a word was no faster (same section).
  uint32_t slots = 1;
  while (slots < limits.live_entries && slots < (1u << 19)) slots <<= 1;
  bpf_map__set_max_entries(skel_->maps.live_filter, slots);
  skel_->bss->live_filter_mask = slots - 1;
  skel_->bss->agent_tgid = static_cast<uint32_t>(getpid());
  skel_->rodata->record_every_free = limits.record_every_free;
  if (with_session) {
    bpf_program__set_expected_attach_type(skel_->progs.ms_session,
                                          static_cast<bpf_attach_type>(MS_BPF_TRACE_UPROBE_SESSION));
    bpf_program__set_expected_attach_type(skel_->progs.ms_linker_multi,
                                          static_cast<bpf_attach_type>(MS_BPF_TRACE_UPROBE_MULTI));
    bpf_program__set_expected_attach_type(skel_->progs.ms_sweep,
                                          static_cast<bpf_attach_type>(MS_BPF_TRACE_UPROBE_MULTI));
  } else {
    for (bpf_program* p : {skel_->progs.ms_session, skel_->progs.ms_linker_multi, skel_->progs.ms_sweep})
      bpf_program__set_autoload(p, false);
  }
  if (!limits.syscall_programs)
    for (bpf_program* p : {skel_->progs.ms_vm_enter, skel_->progs.ms_vm_exit}) bpf_program__set_autoload(p, false);
  if (int err = memscope_bpf__load(skel_)) {
    load_error_ = err;
    memscope_bpf__destroy(skel_);
    skel_ = nullptr;
    return false;
  }
  session_links_ = with_session;
  const auto& m = skel_->maps;
  maps_ = KernelMaps({bpf_map__fd(m.counts), bpf_map__fd(m.stats), bpf_map__fd(m.sites), bpf_map__fd(m.stacks),
                      bpf_map__fd(m.proc_counts), bpf_map__fd(m.proc_hits), bpf_map__fd(m.proc_slot_counts),
                      bpf_map__fd(m.proc_slot_hits), bpf_map__fd(m.proc_stats), bpf_map__fd(m.proc_overflow),
                      bpf_map__fd(m.vm_procs), bpf_map__fd(m.vm_regions)});
  return true;
}

BpfObject::BpfObject(const BpfLimits& limits, ProbeMode mode, bool verbose) : verbose_(verbose) {
  route_libbpf_messages(verbose);

  if (syscall(__NR_bpf, -1, nullptr, 0) < 0 && errno == ENOSYS) throw Error(load_failure(ENOSYS));

  const bool session_ok = kernel_has_uprobe_session();
  if (mode == ProbeMode::Session && !session_ok)
    throw Error("this kernel has no session uprobes (6.13+); use --probe-mode classic");
  bool loaded = false;
  if (mode != ProbeMode::Classic && session_ok) loaded = open_and_load(limits, true);
  // Classic probes where the kernel lacks sessions, or refused the session program.
  if (!loaded && mode != ProbeMode::Session) loaded = open_and_load(limits, false);
  if (!loaded) throw Error(load_failure(load_error_));
  try {
    unwind_ =
        std::make_unique<UnwindMaps>(bpf_map__fd(skel_->maps.unwind_objects), bpf_map__fd(skel_->maps.unwind_rows),
                                     bpf_map__max_entries(skel_->maps.unwind_rows), skel_->progs.ms_mapped_files);
  } catch (...) {
    memscope_bpf__destroy(skel_);  // the destructor does not run for an object never constructed
    skel_ = nullptr;
    throw;
  }
}

BpfObject::~BpfObject() {
  detach_all();
  if (skel_) memscope_bpf__destroy(skel_);
}

void BpfObject::publish(const ms_config& config) {
  uint32_t slot = config.epoch & MS_EPOCH_MASK;
  skel_->bss->configs[slot] = config;
  // The slot must be complete before a probe can see its index.
  std::atomic_thread_fence(std::memory_order_release);
  __atomic_store_n(&skel_->bss->current_epoch, slot, __ATOMIC_RELEASE);
}

void BpfObject::attach(pid_t pid, const AllocatorTarget& alloc) {
  if (inherited_) attach_inherited(pid, alloc);
  else attach_links(pid, alloc);
}

void BpfObject::inherit_children() {
  if (session_links_)
    throw Error("session uprobes cannot follow forks: --follow-children needs --probe-mode classic or auto");
  if (!inherited_) inherited_ = std::make_unique<InheritedUprobes>();
}

// PID 0 means no filter to a uprobe-multi link, -1 to a perf-event uprobe.
void BpfObject::attach_everywhere(const AllocatorTarget& alloc) { attach_links(session_links_ ? 0 : -1, alloc); }

void BpfObject::watch_processes(uint32_t follow) {
  __atomic_store_n(&skel_->bss->proc_follow, follow, __ATOMIC_RELEASE);
  for (bpf_program* prog : {skel_->progs.ms_proc_fork, skel_->progs.ms_proc_exec, skel_->progs.ms_proc_exit}) {
    bpf_link* link = bpf_program__attach(prog);
    if (!link) throw Error(std::string("cannot attach the process tracepoints: ") + strerror(errno));
    links_.links.push_back(link);
  }
}

void BpfObject::watch_lifecycle(pid_t pid) {
  const uint32_t key = static_cast<uint32_t>(pid);
  const uint8_t one = 1;
  bpf_map_update_elem(bpf_map__fd(skel_->maps.followed), &key, &one, BPF_ANY);
}

void BpfObject::watch_linker(pid_t pid, const std::string& open_path, uint64_t offset, int64_t r_debug_delta) {
  const std::string failed = "cannot attach " + std::string(inherited_ && pid ? "an inherited uprobe" : "a uprobe") +
                             " to the dynamic linker's debugger hook in " + open_path + " for PID " +
                             std::to_string(pid) + ": ";
  if (inherited_ && pid) {
    // Inherited like the allocator's probes: the children carry it from
    // their fork, and thousands of short-lived children cost no link each
    // (whose release at the end took ~5 ms apiece).
    try {
      inherited_->attach(pid,
                         {{open_path, offset, false, static_cast<uint64_t>(r_debug_delta), skel_->progs.ms_linker}});
    } catch (const Error& e) {
      throw Error(failed + e.what());
    }
    return;
  }
  // A few hits per dlopen. A uprobe-multi link where session links load
  // (CAP_BPF and CAP_PERFMON suffice), else a perf uprobe (CAP_SYS_ADMIN).
  if (session_links_) {
    const int fd = create_uprobe_multi_link(bpf_program__fd(skel_->progs.ms_linker_multi), MS_BPF_TRACE_UPROBE_MULTI,
                                            open_path, {offset}, {static_cast<uint64_t>(r_debug_delta)}, pid);
    if (fd < 0) throw Error(failed + strerror(-fd));
    links_.fds.push_back(fd);
    if (pid > 0) session_sites_[pid][open_path].insert(offset);
    return;
  }
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = static_cast<uint64_t>(r_debug_delta), .retprobe = false);
  bpf_link* link =
      bpf_program__attach_uprobe_opts(skel_->progs.ms_linker, pid ? pid : -1, open_path.c_str(), offset, &opts);
  if (!link) throw Error(failed + uprobe_failure(errno));
  links_.links.push_back(link);
}

void BpfObject::attach_links(pid_t pid, const AllocatorTarget& alloc) {
  AllocatorTarget always = alloc;
  std::array<AllocatorTarget, kSets> windowed{alloc, alloc, alloc};
  always.sites.clear();
  for (auto& w : windowed) w.sites.clear();
  for (const ProbeSite& s : alloc.sites) {
    if (!split_) always.sites.push_back(s);
    else if (!ms_api_releases(s.api)) windowed[0].sites.push_back(s);
    else if (!split_releases_) always.sites.push_back(s);
    else windowed[ms_api_frees(s.api) ? 1 : kRealloc].sites.push_back(s);
  }
  LinkSet set;
  std::array<LinkSet, kSets> extra;
  try {
    attach_set(pid, always, set);
    for (size_t k = 0; k < kSets; ++k)
      if (window_attached_[k]) attach_set(pid, windowed[k], extra[k]);
  } catch (...) {
    release(set);
    for (auto& e : extra) release(e);
    throw;
  }
  move_links(set, links_);
  if (session_links_ && pid > 0)
    for (const ProbeSite& s : always.sites)
      session_sites_[pid][s.open_path.empty() ? always.open_path : s.open_path].insert(s.offset);
  for (size_t k = 0; k < kSets; ++k) {
    move_links(extra[k], window_links_[k]);
    if (!windowed[k].sites.empty()) windowed_[k].emplace_back(pid, std::move(windowed[k]));
  }
}

void BpfObject::attach_set(pid_t pid, const AllocatorTarget& alloc, LinkSet& set) {
  if (alloc.sites.empty()) return;
  if (session_links_) attach_session(pid, alloc, set);
  else attach_classic(pid, alloc, set);
}

void BpfObject::move_links(LinkSet& from, LinkSet& to) {
  to.links.insert(to.links.end(), from.links.begin(), from.links.end());
  to.fds.insert(to.fds.end(), from.fds.begin(), from.fds.end());
  from.links.clear();
  from.fds.clear();
}

void BpfObject::release_parallel(LinkSet& set) { release_in_parallel(set.links, set.fds, 8); }

void BpfObject::note_probe(AttachedProbe p) {
  p.pid = std::max<pid_t>(p.pid, 0);  // 0: every process (--all)
  for (const auto& q : probes_)
    if (q.pid == p.pid && q.api == p.api && q.kind == p.kind && q.path == p.path && q.offset == p.offset) return;
  probes_.push_back(p);
}

void BpfObject::attach_session(pid_t pid, const AllocatorTarget& alloc, LinkSet& set) {
  // One link per object: the entry points may live in different objects
  // (an allocator and libc for what it lacks).
  std::map<std::string, std::vector<const ProbeSite*>> by_object;
  for (const ProbeSite& s : alloc.sites) {
    const ProbeSite* site = &s;
    by_object[site->open_path.empty() ? alloc.open_path : site->open_path].push_back(site);
  }
  for (const auto& [open_path, group] : by_object) {
    std::vector<uint64_t> offsets, cookies;
    for (const ProbeSite* site : group) {
      offsets.push_back(site->offset);
      cookies.push_back(ms_cookie_with_slot(
          ms_cookie(site->api, static_cast<uint32_t>(site->stack_delta), site->keep_return), alloc.proc_slot));
    }
    const std::string& shown = group.front()->path.empty() ? alloc.path : group.front()->path;
    int fd = create_uprobe_multi_link(bpf_program__fd(skel_->progs.ms_session), MS_BPF_TRACE_UPROBE_SESSION, open_path,
                                      offsets, cookies, pid);
    if (fd < 0) {
      std::string why = strerror(-fd);
      if (fd == -EINVAL) why += conflict_hint(open_path, offsets);
      throw Error("cannot attach session uprobes to " + shown + " for PID " + std::to_string(pid) + ": " + why);
    }
    set.fds.push_back(fd);
    for (const ProbeSite* site : group)
      note_probe({pid, site->api, site->symbol, shown, site->offset, site->stack_delta, site->placement, "session"});
  }
}

void BpfObject::attach_classic(pid_t pid, const AllocatorTarget& alloc, LinkSet& set) {
  for (const ProbeSite& s : alloc.sites) {
    const ProbeSite* site = &s;
    // Return probe first: a call entered between the two attaches would
    // otherwise leave its thread's state set with no return to clear it.
    for (bool ret : {true, false}) {
      if (ret && !api_allocates(site->api) && !site->keep_return) continue;
      bpf_program* prog = ret ? skel_->progs.ms_return : skel_->progs.ms_entry;
      LIBBPF_OPTS(
          bpf_uprobe_opts, opts, .ref_ctr_offset = 0,
          .bpf_cookie = ms_cookie_with_slot(
              ms_cookie(site->api, static_cast<uint32_t>(site->stack_delta), site->keep_return), alloc.proc_slot),
          .retprobe = ret);
      // Sites of allocating entry points are only ever moved past
      // instructions that leave the stack pointer alone, so the return
      // probe can hijack the return address at the same offset.
      const std::string& open_path = site->open_path.empty() ? alloc.open_path : site->open_path;
      const std::string& shown = site->path.empty() ? alloc.path : site->path;
      bpf_link* link = bpf_program__attach_uprobe_opts(prog, pid, open_path.c_str(), site->offset, &opts);
      if (!link) {
        int err = errno;
        std::string why = uprobe_failure(err);
        if (err == EINVAL) why += conflict_hint(open_path, {site->offset});
        throw Error("cannot attach " + std::string(ret ? "uretprobe" : "uprobe") + " to " + site->symbol + " in " +
                    shown + " for PID " + std::to_string(pid) + ": " + why);
      }
      set.links.push_back(link);
      note_probe({pid, site->api, site->symbol, shown, site->offset, site->stack_delta, site->placement,
                  ret ? "uretprobe" : "uprobe"});
    }
  }
}

// As attach_classic, on inherited events. The per-process slot stays 0: a
// cookie is the probe's, shared by every process that inherits it, so each
// is counted under its own PID in the per-process hash.
void BpfObject::attach_inherited(pid_t pid, const AllocatorTarget& alloc) {
  std::vector<InheritedProbe> probes;
  std::vector<AttachedProbe> noted;
  for (const ProbeSite& site : alloc.sites) {
    for (bool ret : {false, true}) {
      if (ret && !api_allocates(site.api) && !site.keep_return) continue;
      const std::string& open_path = site.open_path.empty() ? alloc.open_path : site.open_path;
      const std::string& shown = site.path.empty() ? alloc.path : site.path;
      probes.push_back({open_path, site.offset, ret,
                        ms_cookie(site.api, static_cast<uint32_t>(site.stack_delta), site.keep_return),
                        ret ? skel_->progs.ms_return : skel_->progs.ms_entry});
      noted.push_back({pid, site.api, site.symbol, shown, site.offset, site.stack_delta, site.placement,
                       ret ? "uretprobe" : "uprobe"});
    }
  }
  try {
    inherited_->attach(pid, probes);
  } catch (const Error& e) {
    throw Error("cannot attach inherited uprobes for PID " + std::to_string(pid) + ": " + e.what());
  }
  for (auto& p : noted) note_probe(std::move(p));
}

void BpfObject::release(LinkSet& set) {
  for (bpf_link* l : set.links) bpf_link__destroy(l);
  set.links.clear();
  for (int fd : set.fds) close(fd);
  set.fds.clear();
}

void BpfObject::detach_all() {
  finish_detaching();
  release(syscall_links_);
  vm_attached_ = false;
  release_probes();
}

void BpfObject::stop_counting() {
  count_window(ProbeWindow::allocations, false);
  count_window(ProbeWindow::releases, false);
  user_clock_.stop();
  // Entries first, as they were attached last: a call whose entry was
  // counted keeps its exit.
  std::reverse(syscall_links_.links.begin(), syscall_links_.links.end());
  release(syscall_links_);
  vm_attached_ = false;
}

void BpfObject::detach_in_background() {
  finish_detaching();
  closing_ = true;
  try {
    detaching_ = std::thread([this] {
      release_probes();
      closing_ = false;
    });
  } catch (const std::system_error&) {
    closing_ = false;
    release_probes();
  }
}

void BpfObject::release_process(pid_t pid) {
  if (!inherited_) return;
  std::vector<int> fds = inherited_->take(pid);
  if (fds.empty()) return;
  exits_released_.push([fds = std::move(fds), pid, verbose = verbose_] {
    const auto t0 = std::chrono::steady_clock::now();
    const size_t n = fds.size();
    for (int fd : fds) close(fd);
    if (verbose)
      fprintf(stderr, "memscope-bpf: PID %d gone: its %zu inherited probe events taken down in %.0f ms\n", pid, n,
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  });
}

void BpfObject::release_probes() {
  exits_released_.drain();
  for (auto& w : window_links_) release_parallel(w);
  release_parallel(links_);
  if (inherited_) {
    const auto t0 = std::chrono::steady_clock::now();
    const size_t n = inherited_->open_events();
    inherited_->release_all();
    if (verbose_ && n)
      fprintf(stderr, "memscope-bpf: %zu inherited probe events taken down in %.0f ms\n", n,
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
}

void BpfObject::count_vm_syscalls(pid_t pid, uint64_t brk) {
  if (!vm_attached_) {
    // Exit before entry: an entry whose exit is not watched yet would leave
    // a call behind.
    for (bpf_program* p : {skel_->progs.ms_vm_exit, skel_->progs.ms_vm_enter}) {
      bpf_link* link = bpf_program__attach(p);
      if (!link) throw Error(std::string("cannot attach to the mmap, munmap and brk syscalls: ") + strerror(errno));
      syscall_links_.links.push_back(link);
    }
    vm_attached_ = true;
  }
  ms_vm_counts counts{};
  counts.brk = brk;
  if (!maps_.count_vm(pid, counts))
    throw Error("cannot follow the mmap and brk calls of PID " + std::to_string(pid) + ": " + strerror(errno));
}

int BpfObject::events_fd() const { return bpf_map__fd(skel_->maps.events); }
int BpfObject::proc_events_fd() const { return bpf_map__fd(skel_->maps.proc_events); }

std::vector<uint32_t> BpfObject::program_ids() const {
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
