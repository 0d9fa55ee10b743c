// The loaded BPF object and its probes: sizes the maps, loads the programs,
// attaches one uprobe (and one uretprobe for allocating calls) per entry
// point per process, and takes everything down again on destruction.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <array>
#include <atomic>
#include <initializer_list>
#include <thread>
#include <vector>

#include "attach/inherited_uprobes.h"
#include "attach/kernel_maps.h"
#include "attach/probe_settings.h"
#include "attach/release_queue.h"
#include "attach/unwind_maps.h"
#include "attach/user_clock.h"
#include "common/probe_window.h"
#include "memscope/record.h"
#include "memscope/unwind.h"
#include "targets/allocator.h"

struct memscope_bpf;
struct bpf_link;

namespace memscope {

class BpfObject {
 public:
  // Throws Error with a one-line reason (no privileges, no BPF, ...).
  BpfObject(const BpfLimits& limits, ProbeMode mode, bool verbose);
  ~BpfObject();
  BpfObject(const BpfObject&) = delete;
  BpfObject& operator=(const BpfObject&) = delete;

  // Publishes a config slot: the slot is written whole, then made current.
  void publish(const ms_config& config);

  // Probes every entry point of `alloc` in process `pid` only (the kernel
  // filters by PID, so other processes mapping the same library are not
  // trapped); after inherit_children(), in its future children as well.
  // Throws Error naming the entry point that failed.
  void attach(pid_t pid, const AllocatorTarget& alloc);
  // From now on, attach() probes a process so that the processes it forks
  // (and theirs) carry its probes from their first instruction: classic
  // probes on perf events the kernel copies into every child (see
  // inherited_uprobes.h). Session links cannot: throws Error if loaded so.
  void inherit_children();
  bool inherits() const { return inherited_ != nullptr; }
  // Probes every entry point of `alloc` in every process that maps its
  // objects (--all): one unfiltered link per object. The agent's own traps
  // are dropped by the programs.
  void attach_everywhere(const AllocatorTarget& alloc);
  // Starts the process tracepoints reporting per `follow` (MS_FOLLOW_*
  // bits); their events arrive on proc_events_fd().
  void watch_processes(uint32_t follow);
  // Reports the forks (under MS_FOLLOW_FORKS) and the exit of `pid`.
  void watch_lifecycle(pid_t pid);
  // Reports every change to the list of objects of `pid` (every process
  // mapping the file when `pid` is 0): a uprobe on the dynamic linker's
  // debugger hook at `offset` in `open_path` (its ld.so), whose events
  // arrive on proc_events_fd() as MS_PROC_LINKER; after inherit_children(),
  // an inherited event, which `pid`'s future children carry. Throws Error.
  // `r_debug_delta`: where _r_debug lies from the hook (0: unknown).
  void watch_linker(pid_t pid, const std::string& open_path, uint64_t offset, int64_t r_debug_delta);
  void detach_all();
  // At the end of a trace: the programs stop counting at once (one store;
  // what they counted stays in the maps) and the memory syscalls'
  // tracepoints are detached; the probes stay until detached.
  void stop_counting();
  // Every probe taken down on a thread of its own, whose kernel grace
  // periods (seconds with inherited and classic probes) then overlap the
  // report's symbolization. wait_detached() (or the destructor) waits for
  // that thread.
  void detach_in_background();
  void wait_detached() { finish_detaching(); }
  bool detaching() const { return closing_.load(); }
  // A process probed with session links forked a child that is not traced:
  // the child's copy of its memory holds the breakpoints, and the kernel
  // would make it trap (entry and return) on every call, for nothing.
  // Attaching and detaching an empty link at the same sites makes the
  // kernel remove them wherever no probe wants them (copy_sweep.cpp).
  // Returns how many objects were swept (0 with classic probes: their
  // filter removes a breakpoint from a child at its first hit).
  size_t sweep_copies(pid_t pid);
  // `pid` exited: its sites are no longer its own, and its windowed sets
  // are not attached again (a process that takes the PID later gets its
  // own: kept, they would be attached for it twice).
  void forget_sites(pid_t pid);
  // `pid` and every process that inherited its probes are gone: the
  // inherited events opened on its threads are closed, on a thread of
  // their own (a close may wait behind another's grace periods). The
  // probes' definitions and programs stay, for processes probed there
  // later, until the end (inherited_uprobes.h). A build keeps one event
  // per thread and probe for its live processes, not for every process
  // it ran.
  void release_process(pid_t pid);

  // Duty cycle (bpf_windows.cpp). After split_windowed(), attach() keeps
  // the probes of the entry points that only allocate apart from those that
  // can release a block (free, the deletes, realloc), which stay attached
  // throughout; with `releases` those are windowed too, in release windows
  // of their own (realloc's attached while either kind of window is).
  // A window: attach_window() (returns a warning per process it could not
  // probe), count_window(kind, true) lets the programs count;
  // count_window(kind, false) stops them and moves to the next window
  // number; detach_window() takes the probes down on a thread of its own.
  // The counted calls are exactly those between the two count_window() calls.
  void split_windowed(bool releases);
  // Starts the sampled user-mode clock (bpf/user_clock.bpf.h), one sample
  // per `period_ns` of each CPU's time, counting the processes with an
  // entry in the per-process hits; "" when it runs, else why not.
  // split_windowed() starts it at MS_USER_CLOCK_PERIOD_NS.
  std::string start_user_clock(uint64_t period_ns);
  void stop_user_clock() { user_clock_.stop(); }
  bool windowed() const { return split_; }
  std::vector<std::string> attach_window(ProbeWindow kind, const std::set<pid_t>& live);
  void count_window(ProbeWindow kind, bool on);
  void detach_window(ProbeWindow kind);
  // The last window's probes are still being taken down: opening the next
  // now would wait for that.
  bool window_closing() const { return closing_.load(); }

  // Counts the process's anonymous mmap/munmap and its brk calls from now
  // on (`brk`: its current break, 0 if unknown). The raw syscall
  // tracepoints are attached on first use; throws Error when they cannot be.
  void count_vm_syscalls(pid_t pid, uint64_t brk);

  // The maps, typed; nothing else reads or writes them.
  KernelMaps& maps() { return maps_; }
  const KernelMaps& maps() const { return maps_; }
  // The objects' unwind tables, loaded before their processes are probed.
  UnwindMaps& unwind() { return *unwind_; }
  // The two ring buffers, consumed by the drainer and the process-event reader.
  int events_fd() const;
  int proc_events_fd() const;
  std::vector<uint32_t> program_ids() const;
  const std::vector<AttachedProbe>& probes() const { return probes_; }
  bool uses_session_links() const { return session_links_; }
  const char* mechanism() const {
    return session_links_ ? "uprobe-session" : inherited_ ? "uprobe+uretprobe-inherited" : "uprobe+uretprobe";
  }

 private:
  bool open_and_load(const BpfLimits& limits, bool with_session);
  struct LinkSet {
    std::vector<bpf_link*> links;  // classic: libbpf perf-event links
    std::vector<int> fds;          // session: raw uprobe-multi links
  };
  void attach_links(pid_t pid, const AllocatorTarget& alloc);
  void attach_set(pid_t pid, const AllocatorTarget& alloc, LinkSet& set);
  static void move_links(LinkSet& from, LinkSet& to);
  void attach_session(pid_t pid, const AllocatorTarget& alloc, LinkSet& set);
  void attach_classic(pid_t pid, const AllocatorTarget& alloc, LinkSet& set);
  void attach_inherited(pid_t pid, const AllocatorTarget& alloc);
  void note_probe(AttachedProbe p);
  static void release(LinkSet& set);
  static void release_parallel(LinkSet& set);
  void finish_detaching();

  memscope_bpf* skel_ = nullptr;
  KernelMaps maps_;
  std::unique_ptr<UnwindMaps> unwind_;
  bool session_links_ = false;
  int load_error_ = 0;
  LinkSet links_;
  LinkSet syscall_links_;  // the memory syscalls' tracepoints (count_vm_syscalls)
  void release_probes();
  // The windowed probe sets: those that only allocate, free and the
  // deletes, realloc (attached while either of the others is).
  static constexpr size_t kSets = 3, kRealloc = 2;
  std::vector<std::string> attach_window_set(size_t set, const std::set<pid_t>& live);
  void detach_window_sets(std::initializer_list<size_t> sets);
  bool split_ = false, split_releases_ = false;
  std::array<bool, kSets> window_attached_{true, true, true};  // the set's probes are in
  std::array<std::vector<std::pair<pid_t, AllocatorTarget>>, kSets> windowed_;  // what attach_window() attaches
  std::array<LinkSet, kSets> window_links_;
  std::thread detaching_;  // taking the last window's probes down
  std::atomic<bool> closing_{false};
  bool verbose_ = false;
  bool vm_attached_ = false;
  std::vector<AttachedProbe> probes_;
  std::unique_ptr<InheritedUprobes> inherited_;
  ReleaseQueue exits_released_;  // release_process()'s, drained before the rest come down
  // Per PID, the offsets its always-attached session links (and its
  // linker hook) probe in each object: what sweep_copies() attaches to.
  // Windowed links leave no breakpoint in a child: detaching them at each
  // window's close sweeps as well.
  std::map<pid_t, std::map<std::string, std::set<uint64_t>>> session_sites_;
  bool sweep_warned_ = false;
  // The duty cycle's sampled user-mode clock, from split_windowed() to
  // stop_counting().
  UserClockEvents user_clock_;
};

}  // namespace memscope
