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
#include "common/fs.h"

namespace memscope {
namespace {

const char kGroupPrefix[] = "memscope_";

// The tracefs root: where it is mounted, else a mount of it that is
// attached nowhere (fsmount without move_mount): no other process sees it
// and it goes away with its fd, so the agent changes no mount table.
int open_tracefs() {
  for (const char* path : {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"}) {
    int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) continue;
    if (faccessat(fd, "uprobe_events", W_OK, 0) == 0) return fd;
    close(fd);
  }
  int fs = fsopen("tracefs", FSOPEN_CLOEXEC);
  if (fs < 0) throw Error(std::string("cannot mount tracefs for inherited uprobes: ") + strerror(errno));
  int mnt = -1;
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) == 0) mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  const int err = errno;
  close(fs);
  if (mnt < 0) throw Error(std::string("cannot mount tracefs for inherited uprobes: ") + strerror(err));
  if (faccessat(mnt, "uprobe_events", W_OK, 0) != 0) {
    close(mnt);
    throw Error("this kernel has no uprobe events in tracefs (CONFIG_UPROBE_EVENTS): --follow-children needs them");
  }
  return mnt;
}

// Appends one command to uprobe_events. Never O_TRUNC: that would delete
// every uprobe event on the machine, other tools' too.
int write_command(int tracefs, const std::string& line) {
  int fd = openat(tracefs, "uprobe_events", O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return errno;
  const std::string text = line + "\n";
  int err = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) ? 0 : errno;
  close(fd);
  return err;
}

std::string read_at(int dir, const std::string& path) {
  int fd = openat(dir, path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

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

bool agent_alive(pid_t pid) {
  if (kill(pid, 0) != 0 && errno != EPERM) return false;
  auto comm = read_file("/proc/" + std::to_string(pid) + "/comm");
  return comm && comm->rfind("memscope-bpf", 0) == 0;  // else a reused PID
}

}  // namespace

InheritedUprobes::InheritedUprobes() : tracefs_(open_tracefs()), group_(kGroupPrefix + std::to_string(getpid())) {
  remove_stale_groups();
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

// Events of agents that died without removing theirs (killed): each
// still holds its file's inode; nothing uses them.
void InheritedUprobes::remove_stale_groups() {
  std::istringstream in(read_at(tracefs_, "uprobe_events"));
  std::string line;
  while (std::getline(in, line)) {
    // "p:memscope_123/ms_0 /usr/lib/x86_64-linux-gnu/libc.so.6:0x..."
    const auto colon = line.find(':'), slash = line.find('/'), space = line.find(' ');
    if (colon == std::string::npos || slash == std::string::npos || space == std::string::npos || slash > space)
      continue;
    const std::string group = line.substr(colon + 1, slash - colon - 1);
    if (group.rfind(kGroupPrefix, 0) != 0) continue;
    const std::string digits = group.substr(sizeof kGroupPrefix - 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    if (agent_alive(static_cast<pid_t>(std::stol(digits)))) continue;
    write_command(tracefs_, "-:" + line.substr(colon + 1, space - colon - 1));
  }
}

InheritedUprobes::Defined InheritedUprobes::define(const InheritedProbe& p) {
  // tracefs splits its commands on blanks.
  if (p.path.find_first_of(" \t\n") != std::string::npos)
    throw Error("cannot define a uprobe event on " + p.path + ": the path has a blank in it");
  Defined d;
  d.name = "ms_" + std::to_string(next_name_++);
  char offset[32];
  snprintf(offset, sizeof offset, ":0x%llx", static_cast<unsigned long long>(p.offset));
  const std::string cmd = std::string(p.ret ? "r:" : "p:") + group_ + "/" + d.name + " " + p.path + offset;
  if (int err = write_command(tracefs_, cmd))
    throw Error("cannot define a uprobe event at " + p.path + offset + ": " + strerror(err));
  names_.push_back(d.name);
  d.tp_id = atoi(read_at(tracefs_, "events/" + group_ + "/" + d.name + "/id").c_str());
  if (d.tp_id <= 0) throw Error("cannot read the id of uprobe event " + group_ + "/" + d.name);
  return d;
}

void InheritedUprobes::remove(const std::string& name) {
  if (int err = write_command(tracefs_, "-:" + group_ + "/" + name))
    fprintf(stderr, "memscope-bpf: warning: cannot remove uprobe event %s/%s: %s\n", group_.c_str(), name.c_str(),
            strerror(err));
}

void InheritedUprobes::attach(pid_t pid, const std::vector<InheritedProbe>& probes) {
  const size_t names_before = names_.size(), links_before = links_.size(), fds_before = fds_.size();
  try {
    std::vector<Defined> defined;
    for (const auto& p : probes) defined.push_back(define(p));
    // The program rides on an event of its own that is not inherited: a
    // child's copy of an event carries its parent's program pointer, and
    // when the child exits the kernel (6.10+, perf_event_free_bpf_prog)
    // detaches that program from the probe's tracepoint, for everyone
    // (every process forked after the first child's exit would go
    // uncounted: docs/measurements.md#processes-and-loaded-objects). Events without a program leave nothing to detach.
    // Return probes first: attached into a running process, an entry seen
    // without its return would leave the thread's call depth set, and its
    // later calls at that stack depth would pass for the allocator's own.
    std::vector<size_t> order;
    for (bool ret : {true, false})
      for (size_t i = 0; i < probes.size(); ++i)
        if (probes[i].ret == ret) order.push_back(i);
    for (size_t i : order) {
      int fd = open_event(defined[i].tp_id, pid, false, sample_read_);
      if (fd < 0)
        throw Error(errno == ESRCH ? "PID " + std::to_string(pid) + " is gone"
                                   : "cannot open a perf event on uprobe event " + group_ + "/" + defined[i].name +
                                         ": " + strerror(errno));
      // The cookie goes with the program into the probe's tracepoint: every
      // task the events cover, children too, runs it once per hit.
      LIBBPF_OPTS(bpf_perf_event_opts, opts, .bpf_cookie = probes[i].cookie);
      bpf_link* link = bpf_program__attach_perf_event_opts(probes[i].prog, fd, &opts);
      if (!link) {
        const int err = errno;
        close(fd);
        throw Error("cannot attach the program to uprobe event " + group_ + "/" + defined[i].name + ": " +
                    strerror(err));
      }
      links_.push_back(link);
    }
    // Every thread, listed again until no new one appears: a thread cloned
    // meanwhile by one not yet probed inherited nothing.
    std::set<pid_t> done;
    for (bool fresh = true; fresh;) {
      fresh = false;
      for (pid_t tid : threads_of(pid)) {
        if (!done.insert(tid).second) continue;
        fresh = true;
        for (size_t i = 0; i < probes.size(); ++i) {
          int fd = open_event(defined[i].tp_id, tid, true, sample_read_);
          if (fd < 0 && errno == ESRCH) break;  // the thread is gone
          if (fd < 0)
            throw Error("cannot open a perf event on uprobe event " + group_ + "/" + defined[i].name + " for thread " +
                        std::to_string(tid) + ": " + strerror(errno));
          fds_.push_back(fd);
        }
      }
    }
  } catch (...) {
    while (links_.size() > links_before) {
      bpf_link__destroy(links_.back());
      links_.pop_back();
    }
    while (fds_.size() > fds_before) {
      close(fds_.back());
      fds_.pop_back();
    }
    while (names_.size() > names_before) {
      remove(names_.back());
      names_.pop_back();
    }
    throw;
  }
}

void InheritedUprobes::release_all() {
  // The events first (their children with them), then their definitions,
  // which the kernel refuses to remove while an event uses them.
  for (bpf_link* l : links_) bpf_link__destroy(l);
  links_.clear();
  for (int fd : fds_) close(fd);
  fds_.clear();
  for (const auto& n : names_) remove(n);
  names_.clear();
}

}  // namespace memscope
