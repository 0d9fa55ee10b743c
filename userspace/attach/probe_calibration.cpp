#include "attach/probe_calibration.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>

#include "common/clock.h"
#include "common/error.h"
#include "targets/resolve.h"
#include "targets/process.h"

namespace memscope {
namespace {

constexpr int kPairs = 4000;
constexpr int kRounds = 3;

constexpr char kHere = 1;     // run the loop in the child itself
constexpr char kForked = 2;   // in a process the child forks for it

uint64_t fastest_loop() {
  uint64_t best = UINT64_MAX;
  for (int r = 0; r < kRounds; ++r) {
    uint64_t t0 = monotonic_ns();
    for (int i = 0; i < kPairs; ++i) {
      void* volatile p = malloc(16 + (i & 255));
      free(p);
    }
    best = std::min(best, monotonic_ns() - t0);
  }
  return best;
}

// The child: on each byte from `go`, runs the loop (kHere) or has a child
// of its own run it (kForked), and writes its time.
[[noreturn]] void calibration_child(int go, int out) {
  char c;
  while (read(go, &c, 1) == 1) {
    uint64_t best = 0;
    if (c == kForked) {
      pid_t grandchild = fork();
      if (grandchild == 0) {
        best = fastest_loop();
        _exit(write(out, &best, sizeof best) == sizeof best ? 0 : 1);
      }
      int status = 0;
      if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild || status != 0) break;
      continue;
    }
    best = fastest_loop();
    if (write(out, &best, sizeof best) != sizeof best) break;
  }
  _exit(0);
}

// The entry points the loop calls: the other probes would change nothing
// it measures, and each probe costs an attach and, when taken down, a grace
// period (~0.1 s; the agent's own allocator has about 60 of them).
AllocatorTarget loop_sites(AllocatorTarget alloc) {
  auto called = [](const ProbeSite& s) {
    for (unsigned api : s.aliases)
      if (api == MS_API_MALLOC || api == MS_API_FREE) return true;
    return s.api == MS_API_MALLOC || s.api == MS_API_FREE;
  };
  std::vector<ProbeSite> kept;
  for (const ProbeSite& s : alloc.sites)
    if (called(s)) kept.push_back(s);
  if (!kept.empty()) alloc.sites = std::move(kept);
  return alloc;
}

uint64_t all_hits(const KernelMaps& maps) {
  uint64_t hits = 0;
  for (const auto& [pid, counts] : maps.process_counts()) hits += counts.hits();
  return hits;
}

}  // namespace

ProbeCost calibrate_probe_cost(const BpfLimits& limits, ProbeMode mode, PlacementMode placement,
                               const ms_config& sample_none, const ms_config& sample_all, bool inherited) {
  int go[2], out[2];
  if (pipe(go) || pipe(out)) throw Error("calibration: pipe failed");
  pid_t child = fork();
  if (child < 0) throw Error("calibration: fork failed");
  if (child == 0) {
    close(go[1]);
    close(out[0]);
    calibration_child(go[0], out[1]);
  }
  close(go[0]);
  close(out[1]);
  auto run = [&]() {
    const char c = inherited ? kForked : kHere;
    uint64_t ns = 0;
    if (write(go[1], &c, 1) != 1 || read(out[0], &ns, sizeof ns) != sizeof ns) throw Error("calibration child failed");
    return static_cast<double>(ns);
  };
  ProbeCost cost;
  try {
    const double bare = run();
    const AllocatorTarget alloc =
        loop_sites(resolve_allocator({child, read_process(child).exe, nullptr, "calibration"}, placement));
    BpfLimits small = limits;
    small.live_entries = 1 << 16;
    BpfObject session(small, mode, false);
    session.publish(sample_none);
    if (inherited) session.inherit_children();
    session.attach(child, alloc);
    const double probed = run();
    // The loop's process only: the child's own calls are not timed.
    const uint64_t child_hits = session.maps().process_counts()[child].hits();
    const uint64_t hits = inherited ? all_hits(session.maps()) - child_hits : child_hits;
    session.publish(sample_all);
    const double sampled = run();
    cost.per_call_ns = std::max(0.0, (probed - bare) / (2.0 * kPairs));
    // Every trap of the probed loop, whatever the mechanism made of it
    // (entry only, entry and return): the cost of one. The time is that of
    // the fastest of kRounds loops; the hits are those of all of them.
    if (hits) cost.per_hit_ns = std::max(0.0, (probed - bare) / (static_cast<double>(hits) / kRounds));
    // Every malloc and its free leave a record when everything is sampled.
    cost.per_record_ns = std::max(1.0, (sampled - probed) / (2.0 * kPairs));
  } catch (...) {
    close(go[1]);
    close(out[0]);
    kill(child, SIGKILL);
    waitpid(child, nullptr, 0);
    throw;
  }
  close(go[1]);
  close(out[0]);
  waitpid(child, nullptr, 0);
  return cost;
}

}  // namespace memscope
