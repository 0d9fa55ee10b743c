// Uprobes that a traced process's children inherit (--follow-children).
//
// A uprobe-multi or session link is filtered to one process and follows no
// fork, so a child used to run untraced until the agent heard of it. A
// per-task perf event with attr.inherit = 1 is copied into every task its
// task forks or clones (copy_process -> perf_event_init_task), and the
// kernel's uprobe filter passes every hit in a process one of the events
// targets: the child is counted from its first instruction. The events are
// tracefs uprobe events (PERF_TYPE_TRACEPOINT), not the dynamic `uprobe`
// PMU, whose event_init would run again in the forking target (reading the
// path from the target's memory, checking the target's privileges), where
// a failure would fail the target's fork; tracepoint events inherit
// without any check ("allowed to create parent, allow children").
//
// One event per thread that exists at attach (a per-task event covers the
// descendants of that one task); threads created later inherit theirs. The
// program is attached once per probe, to one more event that is not
// inherited (see attach()): it sits in the probe's tracepoint and runs for
// every task the probe's events cover.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "targets/file_id.h"

struct bpf_program;
struct bpf_link;

namespace memscope {

struct InheritedProbe {
  std::string path;  // the file as the agent opens it
  uint64_t offset = 0;
  bool ret = false;  // uretprobe
  uint64_t cookie = 0;
  bpf_program* prog = nullptr;
};

class InheritedUprobes {
 public:
  // Finds tracefs (or mounts a private, detached instance of it) and
  // removes the events of agents that are gone. Throws Error.
  InheritedUprobes();
  ~InheritedUprobes();
  InheritedUprobes(const InheritedUprobes&) = delete;
  InheritedUprobes& operator=(const InheritedUprobes&) = delete;

  // Probes every thread of `pid` at each of `probes`. On failure throws
  // Error naming the probe and leaves nothing of this call behind.
  void attach(pid_t pid, const std::vector<InheritedProbe>& probes);
  // Closes every event (the kernel frees the children's copies with them)
  // and removes the tracefs events.
  void release_all();

  // Takes the events opened on `pid`'s threads out of this set, for the
  // caller to close (a close of an event that is not a probe's last waits
  // for no grace period). Only once `pid` and every process that inherited
  // them are gone: their copies go with them. The probes' definitions and
  // programs stay for the processes probed there later, until release_all().
  std::vector<int> take(pid_t pid);

  size_t open_events() const;

 private:
  // Events and definitions to close and remove together (release()).
  struct Events {
    std::vector<std::string> names;  // tracefs events, ms_N in this agent's group
    std::vector<bpf_link*> links;    // the events carrying the programs (own their perf fd)
    std::vector<int> fds;            // the inherited events, one per thread and probe
    size_t size() const { return links.size() + fds.size(); }
  };
  // Closes the events, then removes their definitions.
  void release(Events& events) const;
  struct Defined {
    std::string name;  // ms_N in this agent's group
    int tp_id = 0;
  };
  Defined define(const InheritedProbe& p, Events& into);
  bpf_link* carry_program(const InheritedProbe& p, const Defined& d, pid_t pid);
  void remove(const std::string& name) const;

  // A probe is defined once, whatever the processes probed there: closing
  // a probe's last event waits for the kernel's grace periods (~90 ms), so
  // the agent's exit costs that once per probe, not once per process (five
  // compiles under --follow-children: 156 events, 7.6 s at the end).
  // (the file's identity, its path when it has none, offset, return,
  // cookie, program)
  using ProbeKey = std::tuple<FileId, std::string, uint64_t, bool, uint64_t, const bpf_program*>;
  struct Shared {
    Defined defined;
    bpf_link* carrier = nullptr;  // the event carrying the program
  };
  std::map<ProbeKey, Shared> shared_;
  Events carriers_;  // the definitions and the program-carrying events, released last
  int tracefs_ = -1;  // directory fd of the tracefs root
  std::string group_;
  unsigned next_name_ = 0;
  bool sample_read_ = true;  // see open_event()
  std::map<pid_t, std::vector<int>> by_pid_;  // the inherited events, by the process attach() was called for
};

}  // namespace memscope
