#include "follow/process_tracker.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <cstdlib>

#include "common/clock.h"
#include "common/error.h"
#include "common/terminal_safe.h"
#include "follow/pid_reuse.h"
#include "memscope/vm_counts.h"
#include "targets/api_names.h"
#include "targets/file_id.h"
#include "targets/linker_hook.h"
#include "targets/process.h"
#include "targets/resolve.h"

namespace memscope {
namespace {

void warn(pid_t pid, const std::string& comm, const std::string& why) {
  fprintf(stderr, "memscope-bpf: warning: PID %d (%s) not traced: %s\n", pid, terminal_safe(comm).c_str(),
          terminal_safe(why).c_str());
}

}  // namespace

ProcessTracker::ProcessTracker(BpfObject& session, const FollowOptions& options)
    : session_(session), options_(options) {
  if (inherits()) session_.inherit_children();
}

uint32_t ProcessTracker::follow_bits() const {
  uint32_t bits = 0;
  if (options_.children || !options_.comms.empty()) bits |= MS_FOLLOW_FORKS;
  if (options_.all) bits |= MS_FOLLOW_ALL_FORKS;
  if (options_.all || !options_.comms.empty()) bits |= MS_FOLLOW_ALL_EXECS;
  // Children nobody follows carry session links' breakpoints (copy_sweeps.cpp).
  if (!options_.children && !options_.all && session_.uses_session_links()) bits |= MS_FOLLOW_SWEEP;
  return bits;
}

TracedProcess* ProcessTracker::find(pid_t pid) {
  auto it = index_.find(pid);
  return it == index_.end() ? nullptr : &targets_[it->second];
}

bool ProcessTracker::wanted(const std::string& comm) const {
  for (const auto& name : options_.comms)
    if (name.substr(0, 15) == comm) return true;  // comm holds 15 characters
  return false;
}

void ProcessTracker::add(TracedProcess target, bool started) {
  // Tables before probes: the first sampled call already unwinds. A command
  // not started yet gets them when its linker reports its objects.
  if (started) session_.unwind().load(target.process.pid);
  else launching_.insert(target.process.pid);
  probe(target.process.pid, target.allocator, true);
  if (!options_.all) session_.watch_lifecycle(target.process.pid);
  index_[target.process.pid] = targets_.size();
  targets_.push_back(std::move(target));
  watch_objects(targets_.back(), started);
}

bool ProcessTracker::trace(const ProcessInfo& info, const AllocatorTarget& alloc, std::string* why) {
  session_.unwind().load(info.pid);
  try {
    probe(info.pid, alloc);
  } catch (const Error& e) {
    warn(info.pid, info.comm, e.what());
    if (why) *why = e.what();
    return false;
  }
  if (!options_.all) session_.watch_lifecycle(info.pid);
  if (TracedProcess* t = find(info.pid)) {
    if (t->exited) note_reuse(*t, info.comm);
    t->exited = false;
    t->process = info;
    t->allocator = alloc;
  } else {
    TracedProcess fresh;
    fresh.process = info;
    fresh.allocator = alloc;
    index_[info.pid] = targets_.size();
    targets_.push_back(std::move(fresh));
  }
  watch_objects(*find(info.pid), true);
  // Gone before it was followed: its exit event was never sent.
  if (!process_alive(info.pid)) mark_exited(info.pid);
  return true;
}

size_t ProcessTracker::probe(pid_t pid, const AllocatorTarget& alloc, bool named) {
  const pid_t scope = options_.all ? 0 : pid;
  AllocatorTarget fresh = alloc;
  fresh.sites.clear();
  std::vector<std::tuple<uint64_t, uint64_t, uint64_t, pid_t>> keys;
  const bool own_sites = scope && !inherits() && session_.uses_session_links();
  for (const ProbeSite& site : alloc.sites) {
    const std::string& path = site.open_path.empty() ? alloc.open_path : site.open_path;
    struct stat st;
    if (stat(path.c_str(), &st) != 0) throw Error("cannot open " + path);
    const auto dev = static_cast<uint64_t>(st.st_dev), ino = static_cast<uint64_t>(st.st_ino);
    const ProbeSite s = own_sites ? own_site(site, dev, ino, pid) : site;
    auto key = std::make_tuple(dev, ino, s.offset, scope);
    if (probed_.count(key)) continue;
    fresh.sites.push_back(s);
    keys.push_back(key);
  }
  if (fresh.sites.empty()) return 0;
  if (scope && !inherits()) {
    // A process probed on its own links gets a slot while slots last: its
    // counters are then an array index away on every call.
    auto [it, fresh_slot] = slots_.try_emplace(pid, 0);
    if (fresh_slot && next_slot_ < MS_PROC_SLOTS) it->second = next_slot_++;
    fresh.proc_slot = it->second;
  }
  // Inherited probes carry one cookie for every process: no slot, its
  // counters are in the per-process hash. Every process probed on links of
  // its own gets its entry in the per-process hits, slot or not: the
  // sampled user-mode clock counts it there (bpf/user_clock.bpf.h).
  if (scope) {
    std::vector<unsigned> apis;
    if (named && !fresh.proc_slot)
      for (const ProbeSite& s : fresh.sites) apis.push_back(s.api);
    session_.maps().reserve_process_counts(pid, apis);
  }
  if (scope) session_.attach(pid, fresh);
  else session_.attach_everywhere(fresh);
  if (scope) warn_shared_sites(pid, fresh.path, keys);
  if (scope)
    for (const auto& [dev, ino, offset, who] : keys) ++site_links_[{dev, ino, offset}];
  probed_.insert(keys.begin(), keys.end());
  return fresh.sites.size();
}

void ProcessTracker::scan() {
  if (!options_.all && options_.comms.empty()) return;
  std::vector<std::string> skipped;
  DIR* proc = opendir("/proc");
  if (!proc) throw Error("cannot list /proc");
  while (dirent* d = readdir(proc)) {
    const pid_t pid = atoi(d->d_name);
    if (pid <= 0 || pid == getpid() || find(pid) || parent_of(pid) == getpid()) continue;
    ProcessInfo info;
    try {
      info = read_process(pid);  // kernel threads and vanished processes end here
    } catch (const Error&) {
      continue;
    }
    if (!options_.all && !wanted(info.comm)) continue;
    try {
      AllocatorTarget alloc = resolve_running(info, options_.placement);
      trace(info, alloc);
    } catch (const Error& e) {
      // With --all most of these are programs without malloc (static, Go):
      // one line names them all.
      if (options_.all) skipped.push_back(std::to_string(pid) + " (" + info.comm + ")");
      else warn(pid, info.comm, e.what());
    }
  }
  closedir(proc);
  if (!skipped.empty()) {
    std::string list;
    for (size_t i = 0; i < skipped.size() && i < 20; ++i) list += (i ? ", " : "") + skipped[i];
    if (skipped.size() > 20) list += ", ...";
    fprintf(stderr, "memscope-bpf: warning: %zu processes not traced (no allocator found or probed): %s\n",
            skipped.size(), terminal_safe(list).c_str());
  }
}

namespace {

bool same_mount_namespace(pid_t pid) {
  char mine[64] = {}, theirs[64] = {};
  const std::string link = "/proc/" + std::to_string(pid) + "/ns/mnt";
  return readlink("/proc/self/ns/mnt", mine, sizeof mine - 1) > 0 &&
         readlink(link.c_str(), theirs, sizeof theirs - 1) > 0 && strcmp(mine, theirs) == 0;
}

}  // namespace

std::optional<AllocatorTarget> ProcessTracker::resolve_after_exec(pid_t pid, std::string& why) {
  if (!same_mount_namespace(pid)) {
    // In another mount namespace (a container) the linker's --list, run
    // here, would search the agent's file system, and running the
    // container's own linker as root would trust its files. Its maps say
    // what its linker loaded once it has: resolve from them then. The hook
    // is probed first, so that a linker that has not finished is seen to
    // report it.
    watch_linker(pid);
    auto hook = find_linker_hook(pid);
    if (hook && hook->r_debug_address && !linker_started(pid, *hook)) {
      why.clear();
      return std::nullopt;
    }
    try {
      ProcessInfo info = read_process(pid);
      return resolve_running(info, options_.placement);
    } catch (const Error& e) {
      why = e.what();
      return std::nullopt;
    }
  }
  // Right after exec only the program and the dynamic linker are mapped:
  // the libraries it is about to load are found the way the command's are,
  // through the linker's own --list, with the process's environment.
  char buf[4096];
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  ssize_t n = readlink(link.c_str(), buf, sizeof buf - 1);
  if (n <= 0) {
    why = "gone";
    return std::nullopt;
  }
  std::string exe(buf, static_cast<size_t>(n));
  // The file as the host sees it when it is the same one, else through /proc.
  const std::optional<FileId> link_id = file_id(link);
  if (file_id(exe) != link_id) exe = link;
  std::vector<std::string> env = process_environ(pid);
  std::string key = link_id ? std::to_string(link_id->first) + ":" + std::to_string(link_id->second) : "";
  for (const auto& e : env)
    if (e.rfind("LD_PRELOAD=", 0) == 0 || e.rfind("LD_LIBRARY_PATH=", 0) == 0) key += "|" + e;
  if (auto it = exec_cache_.find(key); it != exec_cache_.end()) return it->second;
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  try {
    AllocatorTarget alloc = resolve_allocator({pid, exe, envp.data(), exe}, options_.placement);
    exec_cache_[key] = alloc;
    return alloc;
  } catch (const Error& e) {
    why = e.what();
    return std::nullopt;
  }
}

void ProcessTracker::on_fork(pid_t child, pid_t parent, const std::string& comm, bool gone,
                             std::vector<pid_t>& fresh) {
  if (parent == getpid()) return;  // the agent's own helpers
  // A known PID is a new process only if its holder exited; it takes the
  // entry up again once traced (trace(), pid_reuse.cpp).
  if (const TracedProcess* known = find(child); known && !known->exited) return;
  else if (known) retire(child);  // the former holder's keys, before the child inherits its parent's
  const TracedProcess* from = find(parent);
  const bool take = options_.all || (options_.children && from) || wanted(comm);
  if (!take) {
    if (from) unswept_.insert(parent);  // its copy holds the parent's breakpoints
    return;
  }
  // Forked by a probed process after its probes were attached (the fork
  // is reported only then): the child has them already.
  const bool inherited = inherits() && from;
  if (inherited) inherit_probes(parent, child);
  if (from) copies_[child] = parent;
  // `gone`: its PID is forked again later in the batch; /proc shows that one.
  bool read = !gone;
  ProcessInfo info;
  try {
    if (read) info = read_process(child);
  } catch (const Error&) {
    read = false;
  }
  if (!read) {
    // Just forked, /proc may not show it yet: it is its parent's copy.
    info.pid = info.ns_pid = child;
    info.comm = comm;
    if (from) info.exe = from->process.exe;
    if (gone || !process_alive(child)) {
      // Gone already. With --all or inherited probes its calls were
      // counted all the same (and its own children inherited them): keep
      // what the event said of it.
      if ((options_.all || inherited) && from) {
        if (TracedProcess* t = find(child)) {
          note_reuse(*t, comm);  // its counts are in that entry
          t->exited_ns = monotonic_ns();  // this holder, found gone now
          t->process = info;
        } else {
          add_exited(info, from->allocator);
        }
        fresh.push_back(child);  // its symbols: its parent's (see Symbolizer::snapshot_or_copy)
      }
      return;
    }
  }
  // A child starts as a copy of its parent: same objects, same allocator.
  std::optional<AllocatorTarget> alloc;
  if (from) alloc = from->allocator;
  else {
    try {
      alloc = resolve_running(info, options_.placement);
    } catch (const Error& e) {
      warn(child, info.comm, e.what());
      return;
    }
  }
  const bool traced = trace(info, *alloc);
  if (traced) fresh.push_back(child);
  // Untraced, or a copy on links of its own (--comm) whose release sites may differ
  // from its parent's: either holds its parent's breakpoints.
  if (from && (!traced || (!inherits() && session_.uses_session_links()))) unswept_.insert(parent);
}

void ProcessTracker::on_exec(pid_t pid, const std::string& comm, uint64_t time_ns, std::vector<pid_t>& fresh) {
  copies_.erase(pid);
  // A PID taken after its holder exited: a new process, which the filters
  // below take or not as any other; traced, it takes the entry up again.
  TracedProcess* known = find(pid);
  const ExecAt at = known ? exec_at(known->exited, known->exited_ns, time_ns) : ExecAt::own;
  if (at == ExecAt::new_holder) {
    retire(pid);  // what is left of the former holder
    known = nullptr;
  }
  if (!known && (parent_of(pid) == getpid() || pid == getpid())) return;  // the agent's helpers (ld.so --list)
  if (!known && !options_.all && !wanted(comm)) return;
  // What a traced process runs after each exec of its own, for the report.
  ExecRecord* exec = nullptr;
  if (known && !launching_.erase(pid)) {
    known->execs.push_back({time_ns, "", false, ""});
    exec = &known->execs.back();
  }
  ProcessInfo info;
  bool read = at != ExecAt::own_gone;
  try {
    if (read) info = read_process(pid);
  } catch (const Error&) {
    read = false;
  }
  if (!read) {
    if (known) known->process.comm = comm;  // gone already: the event still names the program
    if (exec) exec->not_traced_because = "it exited before its new program could be read";
    return;
  }
  if (exec) exec->exe = info.exe;
  std::string why;
  auto alloc = resolve_after_exec(pid, why);
  if (!alloc && why.empty()) {
    if (options_.verbose)
      fprintf(stderr,
              "memscope-bpf: PID %d exec'd in another mount namespace: resolved once its linker has loaded it\n", pid);
    exec_pending_[pid] = {comm, time_ns};  // resolved when its linker reports
    if (exec) known->execs.pop_back();     // recorded then
    return;
  }
  if (!alloc) {
    if (known) {
      fprintf(stderr, "memscope-bpf: warning: PID %d now runs %s: %s; its calls are no longer counted\n", pid,
              terminal_safe(info.exe).c_str(), terminal_safe(why).c_str());
      known->process = info;
      if (exec) exec->not_traced_because = why;
    } else if (!options_.all) {
      warn(pid, info.comm, why);
    }
    return;
  }
  const bool traced = trace(info, *alloc, &why);  // a known process is updated in place
  if (exec) {
    exec->traced = traced;
    if (!traced) exec->not_traced_because = why;
  }
  if (traced) {
    fresh.push_back(pid);
    if (options_.verbose)
      fprintf(stderr, "memscope-bpf: PID %d runs %s: probing %s\n", pid, terminal_safe(info.exe).c_str(),
              terminal_safe(alloc->path).c_str());
  }
}

std::vector<pid_t> ProcessTracker::handle(const std::vector<ms_proc_event>& batch) {
  // New children first: each runs untraced until its probes are attached,
  // while resolving an exec (the linker's --list) takes milliseconds.
  std::vector<ms_proc_event> events(batch);
  order_proc_events(events);
  std::vector<pid_t> fresh;
  std::map<pid_t, uint64_t> loaded;  // the linker's latest report per process
  // A fork whose PID is forked again later in the batch: that child is gone.
  std::map<uint32_t, size_t> last_fork;
  for (size_t i = 0; i < events.size(); ++i)
    if (events[i].kind == MS_PROC_FORK) last_fork[events[i].pid] = i;
  for (size_t i = 0; i < events.size(); ++i) {
    const ms_proc_event& e = events[i];
    const pid_t pid = static_cast<pid_t>(e.pid);
    const std::string comm(e.comm, strnlen(e.comm, sizeof e.comm));
    switch (e.kind) {
      case MS_PROC_FORK:
        on_fork(pid, static_cast<pid_t>(e.parent), comm, last_fork[e.pid] != i, fresh);
        break;
      case MS_PROC_EXEC:
        on_exec(pid, comm, e.time_ns, fresh);
        break;
      case MS_PROC_EXIT:
        on_exit_event(pid, e.time_ns);
        break;
      case MS_PROC_LINKER:
        loaded[pid] = std::max<uint64_t>(loaded[pid], e.time_ns);
        break;
      case MS_PROC_FORK_UNFOLLOWED:
        if (find(static_cast<pid_t>(e.parent))) unswept_.insert(static_cast<pid_t>(e.parent));
        break;
    }
  }
  // Once per process and batch: the maps show every object loaded by then.
  for (const auto& [pid, when] : loaded) {
    if (auto it = exec_pending_.find(pid); it != exec_pending_.end()) {
      const auto [comm, exec_ns] = it->second;
      exec_pending_.erase(it);
      on_exec(pid, comm, exec_ns, fresh);
      continue;
    }
    // Every dlopen of a traced process: its symbols are snapshotted too,
    // so that frames in the new object resolve even if it exits soon after.
    look_for_loaded(pid, when);
    if (find(pid)) fresh.push_back(pid);
  }
  std::sort(fresh.begin(), fresh.end());
  fresh.erase(std::unique(fresh.begin(), fresh.end()), fresh.end());
  return fresh;
}

std::vector<pid_t> ProcessTracker::live_pids() const {
  std::vector<pid_t> out;
  for (const auto& t : targets_)
    if (!t.exited) out.push_back(t.process.pid);
  return out;
}

std::optional<pid_t> ProcessTracker::copy_of(pid_t pid) const {
  auto it = copies_.find(pid);
  if (it == copies_.end()) return std::nullopt;
  return it->second;
}

size_t ProcessTracker::objects_probed() const {
  std::set<std::pair<uint64_t, uint64_t>> objects;
  for (const auto& [dev, ino, offset, scope] : probed_) objects.emplace(dev, ino);
  return objects.size();
}

}  // namespace memscope
