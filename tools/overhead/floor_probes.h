// Empty BPF programs attached at exactly the sites memscope-bpf probes, by
// the same mechanism, so that their cost is the floor any tracer using those
// sites pays before doing any work.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "targets/allocator.h"

struct floor_bpf;
struct bpf_link;

namespace memscope::overhead {

enum class FloorMode {
  Classic,    // uprobe on every entry point, uretprobe on the allocating ones (memscope --probe-mode classic)
  EntryOnly,  // uprobes only: the floor of a sampled session probe that skips its return
  Session,    // an empty session probe skipping every return: the session mechanism alone
};

// How entry-only probes are attached. Auto follows memscope-bpf: a
// uprobe-multi link where the kernel has session probes (memscope then runs
// on that mechanism), else perf-event uprobes.
enum class FloorLink { Auto, Perf, Multi };

struct FloorProbe {
  std::string symbol;
  uint64_t offset = 0;
  int32_t stack_delta = 0;
  std::string kind;  // "uprobe", "uretprobe", "uprobe-multi" or "session"
};

class FloorProbes {
 public:
  // Loads the programs of `mode`. Throws Error with a one-line reason.
  FloorProbes(FloorMode mode, FloorLink link, bool verbose);
  ~FloorProbes();  // detaches everything, then unloads
  FloorProbes(const FloorProbes&) = delete;
  FloorProbes& operator=(const FloorProbes&) = delete;

  // Probes every site of `alloc` in process `pid` only (PID-filtered, as
  // memscope-bpf does). Throws Error naming the site that failed.
  void attach(pid_t pid, const AllocatorTarget& alloc);

  const std::vector<FloorProbe>& probes() const { return probes_; }
  const char* mechanism() const;

 private:
  void attach_perf(pid_t pid, const AllocatorTarget& alloc, bool with_returns);
  void attach_multi(pid_t pid, const AllocatorTarget& alloc, int prog_fd, uint32_t attach_type, const char* kind);

  FloorMode mode_;
  bool multi_ = false;
  floor_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  std::vector<int> link_fds_;
  std::vector<FloorProbe> probes_;
};

}  // namespace memscope::overhead
