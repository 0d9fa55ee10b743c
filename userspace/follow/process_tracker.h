// Which processes are traced, as they come and go: the targets given up
// front (-p, the command), and with --follow-children, --comm or --all the
// processes the sched tracepoints report while tracing runs. Chosen by PID
// or name, a process gets links filtered to its PID, so nothing else traps;
// with --all each object is probed once for every process that maps it.
// A process that cannot be probed is named in a warning and left out; the
// others are traced.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "aggregate/process_counters.h"
#include "attach/bpf_object.h"
#include "memscope/processes.h"
#include "follow/follow_options.h"
#include "targets/traced_process.h"
#include "targets/allocator.h"

namespace memscope {

class ProcessTracker {
 public:
  ProcessTracker(BpfObject& session, const FollowOptions& options);

  // What the tracepoints must report (MS_FOLLOW_* bits).
  uint32_t follow_bits() const;
  // True when new processes may still come (--comm, --all): the trace then
  // does not end when the traced ones have all exited.
  bool waits_for_new() const { return options_.all || !options_.comms.empty(); }
  // --follow-children (without --all, which probes every process anyway):
  // the probes are inherited, so a child is counted from its first
  // instruction, before the agent hears of it.
  bool inherits() const { return options_.children && !options_.all; }

  // Probes a target resolved up front (-p, or the command held before
  // exec: `started` false, its maps are still the agent's). Throws Error
  // when it cannot be probed.
  void add(TracedProcess target, bool started = true);
  // --comm and --all: the matching processes already running. Warns about
  // those that cannot be probed.
  void scan();
  // Handles fork, exec and exit events; returns the processes newly traced
  // or re-probed (their symbols need a snapshot).
  std::vector<pid_t> handle(const std::vector<ms_proc_event>& batch);
  // `at_ns`: when it exited (CLOCK_MONOTONIC); 0: now, found gone.
  void mark_exited(pid_t pid, uint64_t at_ns = 0);
  // Children of traced processes that nobody traces carry their parent's
  // breakpoints in their copy of its memory: swept out
  // (BpfObject::sweep_copies) at most every 200 ms (or five times the
  // last sweep's time), so that a storm of forks costs a sweep per gap, not
  // one per fork (copy_sweeps.cpp).
  void sweep_copies(uint64_t now_ns);
  // When a sweep is due (0: none asked for), for the loop's wake-up.
  uint64_t next_sweep_ns() const;

  std::vector<TracedProcess>& targets() { return targets_; }
  const std::vector<TracedProcess>& targets() const { return targets_; }
  // PID -> its slot in the kernel's per-process arrays (see ms_cookie_with_slot).
  const std::map<pid_t, uint32_t>& slots() const { return slots_; }
  std::vector<pid_t> live_pids() const;
  // The process `pid` was forked from and is still a copy of (it has not
  // exec'd since), if the agent saw the fork.
  std::optional<pid_t> copy_of(pid_t pid) const;
  size_t objects_probed() const;
  // The counters of processes that exited, taken out of the kernel's
  // per-process hash maps (see retire()).
  const std::map<pid_t, ProcessCounts>& retired() const { return retired_; }

 private:
  TracedProcess* find(pid_t pid);
  // After a process's exit: its per-process hash entries (counts, hits, and
  // its mmap/brk counters) are read and deleted, so that the tables hold
  // the processes alive, not every one that ever ran.
  void retire(pid_t pid);
  bool wanted(const std::string& comm) const;
  // Probes `alloc` for `pid` (or everywhere with --all), only the sites not
  // already probed; registers the target. Warns and returns false on failure.
  bool trace(const ProcessInfo& info, const AllocatorTarget& alloc, std::string* why = nullptr);
  // Returns how many sites were newly attached. `named`: a process the user
  // gave (-p, the command), whose per-process counters, when it has no
  // slot, are made before its probes (KernelMaps::reserve_process_counts).
  size_t probe(pid_t pid, const AllocatorTarget& alloc, bool named = false);
  // Objects loaded after start (dlopen): the dynamic linker's hook reports
  // each change, and the objects mapped since that define entry points of
  // their own are probed too. watch_objects() starts this for a target
  // (again after exec); `look_now` also takes the objects loaded before.
  void watch_objects(TracedProcess& t, bool look_now);
  void watch_linker(pid_t pid);
  // Probes the objects `pid` maps that were not seen before and define
  // entry points; `event_ns`: when the linker reported them (0: before
  // tracing). True when it found any.
  bool look_for_loaded(pid_t pid, uint64_t event_ns);
  // Empty `why` with no result: the process runs in another mount
  // namespace and its linker has not loaded its libraries yet; it is
  // resolved from its maps when the linker reports them (exec_pending_).
  std::optional<AllocatorTarget> resolve_after_exec(pid_t pid, std::string& why);
  // `gone`: the child's PID is forked again later in the same batch, so
  // the child has exited and /proc shows the later process.
  void on_fork(pid_t child, pid_t parent, const std::string& comm, bool gone, std::vector<pid_t>& fresh);
  // The child of an inherit-probed parent carries the parent's probes and
  // linker hook: they are its own from now on and are never attached to it
  // again (two sets would each run the program: every call counted twice).
  void inherit_probes(pid_t parent, pid_t child);
  // Inherited probes attached for a process (its own objects, its linker
  // hook) live in it and in the children it forks after: they are taken
  // down once all of those are gone, not at the end, where each probe's
  // grace periods come one after another (inherited_probes.cpp). Not
  // after a lost process event: a fork unheard of may have a child still
  // carrying them.
  void note_inherited(pid_t parent, pid_t child);
  void release_inherited(pid_t gone);
  // Session links of two processes at the same sites: the kernel runs
  // every link's handler on every hit, and one whose program skips another
  // process asks for the return probe, so each process then pays a return
  // trap on every call. Warned once (shared_probes.cpp).
  void warn_shared_sites(pid_t pid, const std::string& path,
                         const std::vector<std::tuple<uint64_t, uint64_t, uint64_t, pid_t>>& keys);
  // The site `pid` is probed at for entry point `s` of object (dev, ino):
  // the one it has already, else the one of s and its alternates with the
  // fewest links of other processes, the first of those on a tie
  // (shared_probes.cpp).
  ProbeSite own_site(const ProbeSite& s, uint64_t dev, uint64_t ino, pid_t pid) const;
  void add_exited(const ProcessInfo& info, const AllocatorTarget& alloc);
  // `t` exited and a new process traced at its PID (`comm`) takes its entry
  // up again (everything is keyed by PID): counted in t.pid_reused, and
  // warned at the first such PID of the trace (pid_reuse.cpp).
  void note_reuse(TracedProcess& t, const std::string& comm);

  // `time_ns`: the kernel's time of the exec, recorded in the process's execs.
  void on_exec(pid_t pid, const std::string& comm, uint64_t time_ns, std::vector<pid_t>& fresh);
  // Its exit event: what the agent lets go of (process_exits.cpp).
  void on_exit_event(pid_t pid, uint64_t time_ns);

  BpfObject& session_;
  FollowOptions options_;
  std::set<pid_t> unswept_;  // traced processes that forked an untraced child since the last sweep
  uint64_t last_sweep_ns_ = 0, last_sweep_cost_ns_ = 0;
  bool shared_warned_ = false, reuse_warned_ = false;
  // (device, inode, file offset): the links of single processes attached
  // there. They stay until the end, an exited process's too (its link still
  // runs on every hit there), so own_site() counts them all.
  std::map<std::tuple<uint64_t, uint64_t, uint64_t>, unsigned> site_links_;
  std::vector<TracedProcess> targets_;
  std::map<pid_t, size_t> index_;
  // (device, inode, file offset, PID or 0 for every process): probed already.
  std::set<std::tuple<uint64_t, uint64_t, uint64_t, pid_t>> probed_;
  std::map<pid_t, uint32_t> slots_;  // processes counted in the kernel's per-process arrays
  std::map<pid_t, ProcessCounts> retired_;
  std::map<pid_t, pid_t> copies_;  // forked child -> parent, until the child execs
  std::map<pid_t, pid_t> inherited_from_;  // child -> the parent whose probes it inherited
  std::set<pid_t> gone_;                   // exited, their inherited probes not yet taken down
  bool pid_reused_ = false;                // see note_inherited()
  uint32_t next_slot_ = 1;
  // Processes that exec'd in another mount namespace, waiting for their
  // linker's report (PID -> comm and the time of the exec).
  std::map<pid_t, std::pair<std::string, uint64_t>> exec_pending_;
  // The command, held before its exec: that exec starts it, it is not one
  // the process makes.
  std::set<pid_t> launching_;
  // (device, inode, PID or 0): dynamic linkers whose hook is probed.
  std::set<std::tuple<uint64_t, uint64_t, pid_t>> linkers_;
  // (device, inode) of the objects each process was seen to map, or loaded
  // at start: only others are looked at for entry points.
  std::map<pid_t, std::set<std::pair<uint64_t, uint64_t>>> objects_seen_;
  // A program's allocator after exec, by executable and the environment
  // variables that change the linker's choice.
  std::map<std::string, AllocatorTarget> exec_cache_;
};

}  // namespace memscope
