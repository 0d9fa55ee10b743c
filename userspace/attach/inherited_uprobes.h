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
#include <string>
#include <vector>

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

  size_t open_events() const { return fds_.size() + links_.size(); }

 private:
  struct Defined {
    std::string name;  // ms_N in this agent's group
    int tp_id = 0;
  };
  Defined define(const InheritedProbe& p);
  void remove(const std::string& name);

  int tracefs_ = -1;  // directory fd of the tracefs root
  std::string group_;
  unsigned next_name_ = 0;
  bool sample_read_ = true;  // see open_event()
  std::vector<std::string> names_;
  std::vector<bpf_link*> links_;  // the events carrying the programs (own their perf fd)
  std::vector<int> fds_;          // the inherited events, one per thread and probe
};

}  // namespace memscope
