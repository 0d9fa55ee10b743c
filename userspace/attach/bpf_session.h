// The loaded BPF object and its probes: sizes the maps, loads the programs,
// attaches one uprobe (and one uretprobe for allocating calls) per entry
// point per process, and takes everything down again on destruction.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attach/inherited_uprobes.h"
#include "memscope/record.h"
#include "target/allocator.h"

struct memscope_bpf;
struct bpf_link;

namespace memscope {

// How probes are attached: a session probe (one program for entry and
// return on a uprobe-multi link, 6.13+) lets an unsampled call skip its
// return trap; classic probes are a uprobe plus a uretprobe per entry point.
enum class ProbeMode { Auto, Session, Classic };

struct SessionLimits {
  uint32_t ringbuf_bytes = 8u << 20;   // power of two
  uint32_t live_entries = 1u << 20;    // sampled blocks tracked at once
  uint32_t stack_entries = 16384;
  uint32_t max_sites = 65536;
};

struct AttachedProbe {
  pid_t pid = 0;  // 0: every process that maps the object (--all)
  unsigned api = 0;
  std::string symbol;
  std::string path;
  uint64_t offset = 0;
  int32_t stack_delta = 0;
  std::string placement;  // why the probe sits at this offset
  std::string kind;       // "uprobe", "uretprobe" or "session"
};

class BpfSession {
 public:
  // Throws Error with a one-line reason (no privileges, no BPF, ...).
  BpfSession(const SessionLimits& limits, ProbeMode mode, bool verbose);
  ~BpfSession();
  BpfSession(const BpfSession&) = delete;
  BpfSession& operator=(const BpfSession&) = delete;

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
  void follow(pid_t pid);
  void detach_all();

  // Counts the process's anonymous mmap/munmap and its brk calls from now
  // on (`brk`: its current break, 0 if unknown). The raw syscall
  // tracepoints are attached on first use; throws Error when they cannot be.
  void follow_vm(pid_t pid, uint64_t brk);

  int events_fd() const;
  int counts_fd() const;
  int stats_fd() const;
  int sites_fd() const;
  int stacks_fd() const;
  int proc_counts_fd() const;
  int proc_hits_fd() const;
  int proc_slot_counts_fd() const;
  int proc_slot_hits_fd() const;
  int proc_stats_fd() const;
  int proc_events_fd() const;
  int vm_fd() const;  // ms_vm_counts by tgid
  std::vector<uint32_t> program_ids() const;
  const std::vector<AttachedProbe>& probes() const { return probes_; }
  bool session() const { return session_; }
  const char* mechanism() const {
    return session_ ? "uprobe-session" : inherited_ ? "uprobe+uretprobe-inherited" : "uprobe+uretprobe";
  }

 private:
  bool open_and_load(const SessionLimits& limits, bool with_session);
  struct LinkSet {
    std::vector<bpf_link*> links;  // classic: libbpf perf-event links
    std::vector<int> fds;          // session: raw uprobe-multi links
  };
  void attach_links(pid_t pid, const AllocatorTarget& alloc);
  void attach_session(pid_t pid, const AllocatorTarget& alloc, LinkSet& set);
  void attach_classic(pid_t pid, const AllocatorTarget& alloc, LinkSet& set);
  void attach_inherited(pid_t pid, const AllocatorTarget& alloc);
  void note_probe(AttachedProbe p);
  static void release(LinkSet& set);

  memscope_bpf* skel_ = nullptr;
  bool session_ = false;
  int load_error_ = 0;
  LinkSet links_;
  bool vm_attached_ = false;
  std::vector<AttachedProbe> probes_;
  std::unique_ptr<InheritedUprobes> inherited_;
};

}  // namespace memscope
