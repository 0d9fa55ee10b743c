#include "attach/inherited_uprobes.h"

#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include "common/error.h"
#include "attach/parallel_release.h"
#include "attach/tracefs_events.h"
#include "common/fs.h"

namespace memscope {
namespace {

std::vector<pid_t> threads_of(pid_t pid) {
  std::vector<pid_t> out;
  DIR* d = opendir(("/proc/" + std::to_string(pid) + "/task").c_str());
  if (!d) return out;
  while (dirent* e = readdir(d))
    if (int tid = atoi(e->d_name); tid > 0) out.push_back(tid);
  closedir(d);
  return out;
}

// A counting event (no sampling, no ring buffer): it is there for its
// filter entry, its children or its program; the program does the work.
//
// An inherited event also asks for PERF_SAMPLE_READ (never used: nothing
// is sampled), because that keeps the kernel from swapping the perf
// contexts of a parent and its child at a context switch (6.12+,
// nr_no_switch_fast). After such a swap the parent's copies of the events
// live in the child; when the child exits they are freed, the uprobe filter
// then holds no event for the parent's memory, and the kernel removes the
// breakpoints from it: the parent stops being counted after its first
// child exits (seen with a forked shell:
// docs/measurements.md#processes-and-loaded-objects). `sample_read` is cleared on kernels that refuse
// the combination (before 6.12), which do the swap all the same.
int open_event(int tp_id, pid_t tid, bool inherit, bool& sample_read) {
  perf_event_attr attr{};
  attr.type = PERF_TYPE_TRACEPOINT;
  attr.size = sizeof attr;
  attr.config = static_cast<uint64_t>(tp_id);
  attr.inherit = inherit ? 1 : 0;
  if (inherit && sample_read) attr.sample_type = PERF_SAMPLE_READ | PERF_SAMPLE_TID;
  int fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
  if (fd < 0 && errno == EINVAL && attr.sample_type) {
    sample_read = false;
    attr.sample_type = 0;
    fd = static_cast<int>(syscall(__NR_perf_event_open, &attr, tid, -1, -1, PERF_FLAG_FD_CLOEXEC));
    if (fd >= 0)
      fprintf(stderr,
              "memscope-bpf: warning: this kernel (before 6.12) may swap a traced parent's probes into a "
              "child; a process whose child exits may then lose its calls\n");
  }
  return fd;
}

// Threads that close events at once: each spends its time waiting in the
// kernel, not on a CPU.
constexpr size_t kReleaseWorkers = 64;

}  // namespace

InheritedUprobes::InheritedUprobes() : tracefs_(open_tracefs()), group_(kUprobeGroupPrefix + std::to_string(getpid())) {
  remove_stale_uprobe_events(tracefs_);
  // An event per probe and thread: a traced process with many threads
  // needs more descriptors than the usual soft limit of 1024.
  rlimit fds{};
  if (getrlimit(RLIMIT_NOFILE, &fds) == 0 && fds.rlim_cur < fds.rlim_max) {
    fds.rlim_cur = fds.rlim_max;
    setrlimit(RLIMIT_NOFILE, &fds);
  }
}

InheritedUprobes::~InheritedUprobes() {
  release_all();
  close(tracefs_);
}

InheritedUprobes::Defined InheritedUprobes::define(const InheritedProbe& p, Events& into) {
  // tracefs splits its commands on blanks.
  if (p.path.find_first_of(" \t\n") != std::string::npos)
    throw Error("cannot define a uprobe event on " + p.path + ": the path has a blank in it");
  Defined d;
  // A name no event of this group has: the calibration's probes are
  // defined while the trace's still are, and tracefs appends a definition
  // to an event of the same name (or refuses it, at the same location).
  do {
    d.name = "ms_" + std::to_string(next_name_++);
  } while (faccessat(tracefs_, ("events/" + group_ + "/" + d.name).c_str(), F_OK, 0) == 0);
  char offset[32];
  snprintf(offset, sizeof offset, ":0x%llx", static_cast<unsigned long long>(p.offset));
  const std::string cmd = std::string(p.ret ? "r:" : "p:") + group_ + "/" + d.name + " " + p.path + offset;
  if (int err = write_uprobe_command(tracefs_, cmd))
    throw Error("cannot define a uprobe event at " + p.path + offset + ": " + strerror(err));
  into.names.push_back(d.name);
  d.tp_id = atoi(read_tracefs(tracefs_, "events/" + group_ + "/" + d.name + "/id").c_str());
  if (d.tp_id <= 0) throw Error("cannot read the id of uprobe event " + group_ + "/" + d.name);
  return d;
}

void InheritedUprobes::remove(const std::string& name) const {
  if (int err = write_uprobe_command(tracefs_, "-:" + group_ + "/" + name))
    fprintf(stderr, "memscope-bpf: warning: cannot remove uprobe event %s/%s: %s\n", group_.c_str(), name.c_str(),
            strerror(err));
}

void InheritedUprobes::attach(pid_t pid, const std::vector<InheritedProbe>& probes) {
  Events made, fds;
  std::vector<std::map<ProbeKey, Shared>::iterator> fresh;
  try {
    // Return probes first: attached into a running process, an entry seen
    // without its return would leave the thread's call depth set, and its
    // later calls at that stack depth would pass for the allocator's own.
    std::vector<size_t> order;
    for (bool ret : {true, false})
      for (size_t i = 0; i < probes.size(); ++i)
        if (probes[i].ret == ret) order.push_back(i);
    std::vector<int> tp(probes.size());
    for (size_t i : order) {
      const InheritedProbe& p = probes[i];
      // The file by its identity: the same object reached through another
      // process's /proc/PID/root is the same probe (by its path where it
      // cannot be stat'ed).
      const std::optional<FileId> id = file_id(p.path);
      const ProbeKey key{id.value_or(FileId{}), id ? "" : p.path, p.offset, p.ret, p.cookie, p.prog};
      auto it = shared_.find(key);
      if (it == shared_.end()) {
        it = shared_.emplace(key, Shared{}).first;
        fresh.push_back(it);
        it->second.defined = define(p, made);
        it->second.carrier = carry_program(p, it->second.defined, pid);
        made.links.push_back(it->second.carrier);
      }
      tp[i] = it->second.defined.tp_id;
    }
    // Every thread, listed again until no new one appears: a thread cloned
    // meanwhile by one not yet probed inherited nothing.
    std::set<pid_t> done;
    for (bool again = true; again;) {
      again = false;
      for (pid_t tid : threads_of(pid)) {
        if (!done.insert(tid).second) continue;
        again = true;
        for (size_t i : order) {
          int fd = open_event(tp[i], tid, true, sample_read_);
          if (fd < 0 && errno == ESRCH) break;  // the thread is gone
          if (fd < 0)
            throw Error("cannot open a perf event on uprobe event at " + probes[i].path + " for thread " +
                        std::to_string(tid) + ": " + strerror(errno));
          fds.fds.push_back(fd);
        }
      }
    }
  } catch (...) {
    release(fds);
    release(made);
    for (auto it : fresh) shared_.erase(it);
    throw;
  }
  carriers_.names.insert(carriers_.names.end(), made.names.begin(), made.names.end());
  carriers_.links.insert(carriers_.links.end(), made.links.begin(), made.links.end());
  std::vector<int>& own = by_pid_[pid];
  own.insert(own.end(), fds.fds.begin(), fds.fds.end());
}

// The program rides on an event of its own that is not inherited: a
// child's copy of an event carries its parent's program pointer, and when
// the child exits the kernel (6.10+, perf_event_free_bpf_prog) detaches
// that program from the probe's tracepoint, for everyone (every process
// forked after the first child's exit would go uncounted:
// docs/measurements.md#processes-and-loaded-objects). This one is the
// process's own, and outlives it: at a task's exit the kernel frees only
// the inherited copies, and the program stays in the tracepoint until the
// agent closes the event at the end. One per probe: every process probed
// there later (another compiler run by the same build) adds only its
// threads' events, which the tracepoint's filter passes; a second program
// would count each call twice.
bpf_link* InheritedUprobes::carry_program(const InheritedProbe& p, const Defined& d, pid_t pid) {
  int fd = open_event(d.tp_id, pid, false, sample_read_);
  if (fd < 0)
    throw Error(errno == ESRCH ? "PID " + std::to_string(pid) + " is gone"
                               : "cannot open a perf event on uprobe event " + group_ + "/" + d.name + ": " +
                                     strerror(errno));
  // The cookie goes with the program into the probe's tracepoint: every
  // task the events cover, children too, runs it once per hit.
  LIBBPF_OPTS(bpf_perf_event_opts, opts, .bpf_cookie = p.cookie);
  bpf_link* link = bpf_program__attach_perf_event_opts(p.prog, fd, &opts);
  if (!link) {
    const int err = errno;
    close(fd);
    throw Error("cannot attach the program to uprobe event " + group_ + "/" + d.name + ": " + strerror(err));
  }
  return link;
}

std::vector<int> InheritedUprobes::take(pid_t pid) {
  std::vector<int> out;
  if (auto it = by_pid_.find(pid); it != by_pid_.end()) {
    out = std::move(it->second);
    by_pid_.erase(it);
  }
  return out;
}

void InheritedUprobes::release(Events& events) const {
  // The events first (their children with them), then their definitions,
  // which the kernel refuses to remove while an event uses them. The events
  // all at once: one by one they took ~0.13 s each (parallel_release.h).
  release_in_parallel(events.links, events.fds, kReleaseWorkers);
  for (const auto& n : events.names) remove(n);
  events.names.clear();
}

void InheritedUprobes::release_all() {
  Events all = std::move(carriers_);
  carriers_ = {};
  shared_.clear();
  for (auto& [pid, fds] : by_pid_) all.fds.insert(all.fds.end(), fds.begin(), fds.end());
  by_pid_.clear();
  release(all);
}

size_t InheritedUprobes::open_events() const {
  size_t n = carriers_.size();
  for (const auto& [pid, fds] : by_pid_) n += fds.size();
  return n;
}

}  // namespace memscope
